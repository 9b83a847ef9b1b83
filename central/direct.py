"""Hot statements run on the database driver's own cursor.

A `Direct` wraps a SQLAlchemy Core statement. The first time it runs on a
dialect, SQLAlchemy compiles it and gives, per parameter and per result
column, the type's own conversion for that dialect (a datetime to SQLite's
text and back, a date, a boolean, `central.db.UtcDateTime`); after that each
run is the driver's ``cursor.execute`` with those conversions applied, inside
the transaction the SQLAlchemy `Connection` holds.

Why: SQLAlchemy's execution layer (execution context, cache-key lookup,
parameter construction, result objects) costs 25–30 µs per statement on
top of the driver's 5–8 µs, and a queue verb and its hall-state round send
a dozen statements while SQLite's one write lock is held (docs/queueing.md,
"Hot statements on the driver's cursor"). Only statements on that path use this; everything
else goes through SQLAlchemy as usual.

What it does not do: expanding (``IN``) or literal-execute parameters,
ORM entities, RETURNING, and SQLAlchemy's ``before/after_cursor_execute``
events (nothing on the hub listens to them; `bench/queue_verbs.py` counts
these statements itself, `Direct.executed`). A driver error is raised as
SQLAlchemy's `DBAPIError`, as an ordinary execution raises it, so the verbs'
retry on a busy database is unchanged.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any] | None


@dataclass
class _Compiled:
    sql: str
    names: tuple[str, ...]  # parameter names, in order for a positional driver
    positional: bool
    defaults: dict[str, Any]  # values bound in the statement itself (`Ticket.state == "waiting"`)
    binds: tuple[tuple[str, Processor], ...]  # the parameters that need converting
    columns: tuple[TypeEngine[Any], ...]  # the result columns' types, for `results`
    # The result columns that convert, by position, made at the first result:
    # some conversions depend on the type the driver reports (PostgreSQL's
    # numerics). Empty: none converts.
    results: list[tuple[tuple[int, Callable[[Any], Any]], ...]] = field(default_factory=list)


class Direct:
    """One Core statement, compiled once per dialect, run on the driver's cursor."""

    executed: ClassVar[int] = 0  # statements run, for benchmarks that count them

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def rows(
        self, connection: Connection, params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """The result rows, each value converted as SQLAlchemy would."""
        c, cursor = self._run(connection, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        if not c.results:
            c.results.append(self._result_processors(c, cursor.description, connection.dialect))
        procs = c.results[0]
        if not procs:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for i, proc in procs:
                if values[i] is not None:
                    values[i] = proc(values[i])
            out.append(tuple(values))
        return out

    def scalar(self, connection: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        rows = self.rows(connection, params)
        return rows[0][0] if rows else None

    def execute(self, connection: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Run a write; the number of rows it matched."""
        _, cursor = self._run(connection, params)
        return int(cursor.rowcount)

    def execute_many(self, connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run a write once per parameter set, in one driver call."""
        c = self._for(connection.dialect)
        self._send(connection, c, [self._values(c, p) for p in params], many=True)

    # --- the parts --------------------------------------------------------------------

    def _run(
        self, connection: Connection, params: Mapping[str, Any] | None
    ) -> tuple[_Compiled, Any]:
        c = self._for(connection.dialect)
        return c, self._send(connection, c, self._values(c, params or {}), many=False)

    @staticmethod
    def _send(connection: Connection, c: _Compiled, values: Any, *, many: bool) -> Any:
        # The statement must be part of the Connection's transaction (SQLite's
        # BEGIN is SQLAlchemy's to send: `central.db`): begin it as its own
        # execute would have.
        if not connection.in_transaction():
            connection.begin()
        return on_driver(connection, c.sql, values, many=many)

    @staticmethod
    def _values(c: _Compiled, params: Mapping[str, Any]) -> Any:
        merged = {**c.defaults, **params} if c.defaults else dict(params)
        for name, proc in c.binds:
            value = merged[name]
            if value is not None and proc is not None:
                merged[name] = proc(value)
        if c.positional:
            return tuple(merged[name] for name in c.names)
        return merged

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.escaped_bind_names:  # names the driver's format would need escaped
            raise ValueError(f"parameter names to escape: {sorted(compiled.escaped_bind_names)}")
        names: Iterable[str] = compiled.positiontup or compiled.bind_names.values()
        binds, defaults = [], {}
        for name in dict.fromkeys(names):
            bind = compiled.binds[name]
            if bind.expanding or bind.literal_execute:
                raise ValueError(f"{name}: an expanding or literal-execute parameter")
            if not bind.required and bind.callable is None and bind.value is not None:
                defaults[name] = bind.value
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                binds.append((name, proc))
        # A SELECT's columns, or an INSERT's or UPDATE's RETURNING columns.
        selected = getattr(self.statement, "exported_columns", ())
        return _Compiled(
            sql=compiled.string,
            names=tuple(compiled.positiontup or ()),
            positional=bool(compiled.positional),
            defaults=defaults,
            binds=tuple(binds),
            columns=tuple(col.type for col in selected),
        )

    @staticmethod
    def _result_processors(
        c: _Compiled, description: Sequence[Sequence[Any]], dialect: Dialect
    ) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        """The columns that convert, by position, with their conversion."""
        procs = (
            t.dialect_impl(dialect).result_processor(dialect, d[1])
            for t, d in zip(c.columns, description, strict=True)
        )
        return tuple((i, p) for i, p in enumerate(procs) if p is not None)


def on_driver(connection: Connection, sql: str, values: Any = (), *, many: bool = False) -> Any:
    """Run `sql` on the driver's cursor of `connection` as it stands (no
    transaction begun); the cursor. A driver error is raised as SQLAlchemy's
    `DBAPIError`, and a lost server invalidates the connection, as
    SQLAlchemy's own execution does."""
    cursor = connection.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, values)
        else:
            cursor.execute(sql, values)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(connection, exc, sql, values, cursor) from exc
    Direct.executed += 1
    return cursor


@contextlib.contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """On PostgreSQL, the statements sent on the driver's cursor inside this
    block go to the server together and are answered in one round trip
    (psycopg's pipeline mode), where each would have waited for its own
    answer: for writes whose results nobody reads. An error in any of them
    is raised by the time the block ends, as `DBAPIError` (`on_driver`'s),
    and the ones after it are not run. Elsewhere (SQLite) nothing changes."""
    driver = connection.connection.driver_connection
    if driver is None or not _can_pipeline(connection.dialect):
        yield
        return
    try:
        with driver.pipeline():
            yield
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(connection, exc, "(pipeline)", (), None) from exc


def _can_pipeline(dialect: Dialect) -> bool:
    return dialect.driver == "psycopg" and _psycopg_pipelines()


@functools.cache
def _psycopg_pipelines() -> bool:
    import psycopg  # only with PostgreSQL

    return bool(psycopg.Pipeline.is_supported())  # libpq 14 or later


def _wrapped(
    connection: Connection, exc: Any, sql: str, values: Any, cursor: Any
) -> StatementError:
    """`exc` as SQLAlchemy raises a driver error; a lost server invalidates
    the connection, so that the pool does not hand it out again."""
    lost = connection.dialect.is_disconnect(exc, connection.connection, cursor)
    error = connection.dialect.loaded_dbapi.Error
    wrapped: StatementError = DBAPIError.instance(
        sql, values, exc, error, connection_invalidated=lost, dialect=connection.dialect
    )
    if lost:
        connection.invalidate(wrapped)
    return wrapped
