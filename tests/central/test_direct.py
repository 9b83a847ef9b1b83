"""`central.direct`: hot statements on the driver's cursor must give what
SQLAlchemy gives, fail as SQLAlchemy fails, and stay inside the transaction."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from central.db import UtcDateTime, make_engine
from central.direct import Direct, pipelined

_meta = MetaData()
_rows = Table(
    "direct_rows",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True),
    Column("day", Date),
    Column("at", UtcDateTime),
    Column("weight", Float),
    Column("active", Boolean),
)
AT = dt.datetime(2026, 12, 1, 2, 30, 15, 123456, tzinfo=dt.UTC)
_INSERT = Direct(
    insert(_rows).values({c: bindparam(c) for c in ("id", "name", "day", "at", "weight", "active")})
)
# Literal values bound in the statement (`active IS true`, the 0.5) and a
# parameter used twice.
_SELECT_STATEMENT = (
    select(_rows.c.name, _rows.c.day, _rows.c.at, _rows.c.weight, _rows.c.active)
    .where(
        _rows.c.active.is_(True),
        _rows.c.weight > 0.5,
        (_rows.c.day == bindparam("day")) | (_rows.c.at < bindparam("at")),
        _rows.c.at <= bindparam("at"),
    )
    .order_by(_rows.c.id)
)
_SELECT = Direct(_SELECT_STATEMENT)


@pytest.fixture
def connection(database_url: str) -> Iterator[Connection]:
    engine = make_engine(database_url)
    _meta.create_all(engine)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        _meta.drop_all(engine)
        engine.dispose()


def _fill(conn: Connection) -> None:
    _INSERT.execute_many(
        conn,
        [
            {"id": 1, "name": "王芳", "day": AT.date(), "at": AT, "weight": 1.5, "active": True},
            {"id": 2, "name": "李娜", "day": None, "at": None, "weight": 2.0, "active": True},
            {"id": 3, "name": "张伟", "day": AT.date(), "at": AT, "weight": 0.25, "active": True},
            {"id": 4, "name": "刘洋", "day": AT.date(), "at": AT, "weight": 3.0, "active": False},
        ],
    )


def test_rows_come_back_as_sqlalchemy_gives_them(connection: Connection) -> None:
    _fill(connection)
    params = {"day": AT.date(), "at": AT + dt.timedelta(seconds=1)}
    direct = _SELECT.rows(connection, params)
    assert direct == [tuple(r) for r in connection.execute(_SELECT_STATEMENT, params)]
    assert direct == [("王芳", AT.date(), AT, 1.5, True)]
    _name, day, at, weight, active = direct[0]
    assert isinstance(day, dt.date)
    assert at.tzinfo is not None
    assert type(weight) is float
    assert type(active) is bool


def test_a_write_counts_its_rows_and_belongs_to_the_transaction(
    connection: Connection,
) -> None:
    _fill(connection)
    connection.commit()
    rename = Direct(
        update(_rows)
        .where(_rows.c.weight > bindparam("w"))
        .values(name=func.upper(_rows.c.name) + "x")
    )
    assert rename.execute(connection, {"w": 1.0}) == 3
    connection.rollback()
    names = Direct(select(_rows.c.name).order_by(_rows.c.id))
    assert [n for (n,) in names.rows(connection)] == ["王芳", "李娜", "张伟", "刘洋"]


def test_a_driver_error_is_sqlalchemys_error_and_the_connection_goes_on(
    connection: Connection,
) -> None:
    _fill(connection)
    connection.commit()
    with pytest.raises(IntegrityError) as caught:
        _INSERT.execute(
            connection,
            {"id": 5, "name": "王芳", "day": None, "at": None, "weight": 1.0, "active": True},
        )
    assert isinstance(caught.value, DBAPIError)
    assert caught.value.orig is not None
    connection.rollback()
    assert Direct(select(func.count()).select_from(_rows)).scalar(connection) == 4


def test_writes_sent_together_all_land_and_a_failing_one_raises_at_the_end(
    connection: Connection,
) -> None:
    _fill(connection)
    connection.commit()
    rename = Direct(update(_rows).where(_rows.c.id == bindparam("row")).values(name=bindparam("n")))
    with pipelined(connection):  # answered in one round trip on PostgreSQL
        rename.execute(connection, {"row": 1, "n": "王芳芳"})
        rename.execute(connection, {"row": 2, "n": "李娜娜"})
    connection.commit()
    names = Direct(select(_rows.c.name).order_by(_rows.c.id))
    assert [n for (n,) in names.rows(connection)] == ["王芳芳", "李娜娜", "张伟", "刘洋"]

    # A duplicate name, the last statement sent: on PostgreSQL its error
    # comes when the block ends, as SQLAlchemy's IntegrityError; the
    # transaction rolls back whole and the connection goes on.
    def duplicate_names() -> None:
        with pipelined(connection):
            rename.execute(connection, {"row": 3, "n": "张伟伟"})
            rename.execute(connection, {"row": 4, "n": "张伟伟"})

    with pytest.raises(IntegrityError):
        duplicate_names()
    connection.rollback()
    assert [n for (n,) in names.rows(connection)] == ["王芳芳", "李娜娜", "张伟", "刘洋"]


def test_an_expanding_parameter_is_refused_with_its_name(connection: Connection) -> None:
    some = Direct(select(_rows.c.id).where(_rows.c.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="ids"):
        some.rows(connection, {"ids": [1, 2]})


def test_a_lost_server_connection_is_not_used_again(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a server connection to lose: PostgreSQL")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with engine.connect() as admin:
                admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            with pytest.raises(DBAPIError) as caught:
                Direct(select(func.now())).rows(conn)
            assert caught.value.connection_invalidated
            assert conn.invalidated
        with engine.connect() as conn:  # the pool connects afresh
            assert Direct(select(func.count())).scalar(conn) == 1
    finally:
        engine.dispose()


def test_a_connection_the_server_ended_while_idle_is_replaced_before_use(
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a server connection to lose: PostgreSQL")
    engine, admin = make_engine(database_url), make_engine(database_url)
    try:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        # The connection is back in the pool, idle, when the server ends it.
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            deadline = time.monotonic() + 5
            while other.execute(gone, {"pid": pid}).scalar() and time.monotonic() < deadline:
                time.sleep(0.01)
        with engine.connect() as conn:  # no error: a fresh connection
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()
