"""The hub's SQL database: engine, sessions, shared column types and migrations.

SQLite (one hall, the default) and PostgreSQL (many halls) run the same code.
The engine is synchronous on purpose: FastAPI runs sync routes in its thread
pool and the MQTT bridge hops to a thread with `asyncio.to_thread`, so no
async driver is needed on either database.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import select
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from anxin.settings import Settings
from central.direct import on_driver

log = logging.getLogger(__name__)

# Stable constraint names let Alembic drop or alter them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on the way in and out.

    SQLite has no time zones and hands back naive values; without this a
    comparison between a stored and a fresh timestamp raises on one database
    and not the other.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use an aware UTC time")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web pages read while the bridge writes; foreign keys are off
    # by default in SQLite; busy_timeout turns writer contention into a short
    # wait instead of "database is locked".
    # pysqlite's own implicit transactions break SAVEPOINT; SQLAlchemy's
    # documented recipe hands transaction control to SQLAlchemy (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# Execution option asking for `BEGIN IMMEDIATE`: the write lock is taken when
# the transaction starts, so two writers that read before they write (the
# queue's call-next) are serialised instead of failing on the lock upgrade.
SQLITE_IMMEDIATE = "anxin_sqlite_immediate"


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE, False)
    # On the driver's cursor: SQLAlchemy's execution of a statement costs
    # several times the statement here, and every queue verb begins one.
    on_driver(connection, "BEGIN IMMEDIATE" if immediate else "BEGIN")


def database_url(settings: Settings) -> str:
    return settings.hub.database_url or settings.database_url


def _no_auto_checkpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def make_engine(url: str, *, background_checkpoints: bool = False) -> Engine:
    """An engine for `url`. `background_checkpoints` (the hub, SQLite): no
    commit copies the WAL back into the database file; a `WalCheckpointer`
    does, off the request path."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite connections are cheap; a burst of window presses each holds one
        # while it waits for the write lock, so the pool must not be the limit.
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=20, max_overflow=60
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if background_checkpoints:
            event.listen(engine, "connect", _no_auto_checkpoint)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # The most recently used connection first: the few in use keep their
    # prepared statements and the server's caches warm.
    psycopg = parsed.get_driver_name() == "psycopg"  # the driver the project pins
    engine = create_engine(
        url, pool_size=10, max_overflow=10, pool_use_lifo=True, pool_pre_ping=not psycopg
    )
    if psycopg:
        event.listen(engine, "checkout", _closed_by_server)
    return engine


def _closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled psycopg connection the server has closed, without
    a round trip (the pool then connects afresh).

    An idle connection has nothing to read; a server that restarts or ends
    the backend sends its reason and closes the socket, which makes it
    readable. SQLAlchemy's ``pool_pre_ping`` asked the server instead: a
    round trip at every checkout, one in thirteen of a window's "next" when
    it was dropped. A connection cut without a word (a network gone
    silent) is not seen here; its first statement fails, and SQLAlchemy
    then drops every pooled connection of that moment."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server wrote to or closed an idle connection")


def for_reads(engine: Engine) -> Engine:
    """`engine` for work that only reads and is redone within seconds (a
    polled page, a board's publishing round). On PostgreSQL each statement
    is its own transaction (autocommit): no ``BEGIN`` and ``ROLLBACK`` round
    trips around the reads, and psycopg keeps the statements it has
    prepared (it drops them all at a ``ROLLBACK``). Two reads may then see
    two moments a few milliseconds apart. SQLite is unchanged: its ``BEGIN``
    is ours to send (`_sqlite_begin`) and costs no round trip."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def make_sessionmaker(
    engine: Engine, *, immediate: bool = False, reads_only: bool = False
) -> sessionmaker[Session]:
    """Sessions on `engine`; with `immediate`, every transaction on SQLite
    starts with ``BEGIN IMMEDIATE`` (for work that reads, then writes).

    `reads_only`: for pages that only read (`for_reads`)."""
    bind = engine
    if immediate:
        bind = bind.execution_options(**{SQLITE_IMMEDIATE: True})
    if reads_only:
        bind = for_reads(bind)
    # Objects are handed to templates and pydantic after commit; expiring them
    # would trigger lazy loads on a closed session.
    return sessionmaker(bind, expire_on_commit=False)


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session per request; committed by the service that changes state."""
    with factory() as session:
        yield session


# --- WAL checkpoints -----------------------------------------------------------

CHECKPOINT_INTERVAL_S = 1.0


def checkpoint_wal(engine: Engine) -> None:
    """One PASSIVE checkpoint of an SQLite database."""
    raw = engine.raw_connection()
    try:
        # The connection is in autocommit (`_sqlite_pragmas`): no BEGIN first.
        sqlite = raw.driver_connection
        assert sqlite is not None
        sqlite.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        raw.close()


class WalCheckpointer:
    """Copies SQLite's WAL back into the database file every second, in a thread.

    By default the commit that takes the WAL past 1,000 pages does it, while
    it holds the database's one write lock: under the `ticket-throughput`
    load that was 5-10 ms of CPU about once every 200 verbs, in which no
    window could call. A PASSIVE checkpoint copies what no reader still
    needs and neither waits for nor blocks a writer. Each hub worker runs
    one; two at once are harmless. Not SQLite: nothing to do.
    """

    def __init__(self, engine: Engine, *, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self._engine = engine
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._running: asyncio.Future[None] | None = None  # a checkpoint in its thread

    async def start(self) -> None:
        if self._engine.dialect.name == "sqlite":
            self._task = asyncio.create_task(self._run(), name="wal-checkpoints")

    async def stop(self) -> None:
        """Stop, after any checkpoint under way: the engine is disposed next."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._running is not None:
            with contextlib.suppress(Exception):
                await self._running
            self._running = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._interval_s)
            self._running = loop.run_in_executor(None, checkpoint_wal, self._engine)
            try:
                # Shielded: cancelling the task must not leave the thread
                # checkpointing behind `stop`'s back.
                await asyncio.shield(self._running)
            except Exception:
                log.exception("WAL checkpoint failed; trying again in %.0f s", self._interval_s)


# --- migrations ---------------------------------------------------------------


def alembic_config(url: str) -> Config:
    """Alembic configured in code, so an installed wheel needs no alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("central") / "migrations"))
    # configparser treats % as interpolation; URLs with encoded passwords have them.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(settings: Settings) -> None:
    """Bring the schema to the newest revision (`anxin db upgrade`; also run on hub start)."""
    url = database_url(settings)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
