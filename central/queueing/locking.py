"""How the queue serialises writers, on SQLite and on PostgreSQL, without any
process-wide Python lock (the hub may run several workers, and the MQTT
bridge calls the same verbs from its own threads).

- SQLite: a verb's transaction starts with ``BEGIN IMMEDIATE``
  (`central.db.SQLITE_IMMEDIATE`): the database write lock is taken before
  the first read, so two windows pressing "next" at once run one after the
  other and the second sees the first's call. ``busy_timeout`` makes the
  second wait instead of failing.
- PostgreSQL: rows are locked with ``SELECT … FOR UPDATE``; candidate tickets
  with ``FOR UPDATE SKIP LOCKED``, so a window never waits for (or takes) a
  ticket another window is calling at that instant; appends to the fairness
  chain take a transaction-scoped advisory lock, because the chain is one
  sequence for the whole hall while row locks are per window.
- SQLite, on one machine: verbs also queue before ``BEGIN IMMEDIATE``
  (`_writer_gate`): the threads of a process on a re-entrant lock, the hub's
  worker processes on an ``flock`` of ``<database>.writers``. This is for
  speed, not correctness (correctness is the database lock, which also
  covers any writer that does not take the gate): SQLite's busy handler makes
  a waiting writer sleep in growing steps (up to 100 ms), so 76 windows
  pressing at once, or two workers, used to wait for each other's sleeps;
  these locks hand over the moment they are freed.
- Both: a verb that fails on a busy database, a deadlock or a serialization
  failure is rolled back and run again, a bounded number of times.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

from sqlalchemy import Engine, Table, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from central.db import SQLITE_IMMEDIATE
from central.queueing.models import DayCounter, Ticket, Window, WindowState

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS: Final = 6
# Any constant shared by every hub worker; "anxin" in ASCII.
_FAIRNESS_LOCK_KEY: Final = 0x616E78696E
_RETRY_SQLSTATES: Final = frozenset({"40001", "40P01", "55P03"})


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def begin_write(session: Session) -> None:
    """Start the verb's own transaction, taking SQLite's write lock up front.

    A transaction the caller has open (the API reads the signed-in user
    first) is committed: a read snapshot taken earlier could not be upgraded
    to a write on SQLite, and it must not be part of the verb.
    """
    if session.in_transaction():
        session.commit()
    # Sessions keep objects loaded after commit (expire_on_commit=False);
    # a verb must decide on what the database says now.
    session.expire_all()
    session.connection(execution_options={SQLITE_IMMEDIATE: True})


def retryable(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _RETRY_SQLSTATES:
        return True
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


class _SqliteWriterGate:
    """The queue of SQLite writers on one machine (see the module docstring):
    the threads of this process wait on a re-entrant lock, the processes (hub
    workers) on an exclusive ``flock`` of a file beside the database. Both
    hand over the moment they are released, where SQLite's own busy handler
    would have the waiting writer sleep 1, 2, 5, … 100 ms between attempts."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.RLock()
        self._depth = 0  # nesting of the thread holding `_threads`
        self._pid = os.getpid()
        self._fd: int | None = None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._fd = os.open(f"{database}.writers", os.O_RDWR | os.O_CREAT, 0o600)
            weakref.finalize(self, os.close, self._fd)

    @property
    def usable(self) -> bool:
        """False in a forked child: an inherited descriptor shares the parent's lock."""
        return self._pid == os.getpid()

    def __enter__(self) -> None:
        self._threads.acquire()
        self._depth += 1
        if self._depth == 1 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        if self._depth == 1 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._depth -= 1
        self._threads.release()


_gates: weakref.WeakKeyDictionary[Engine, _SqliteWriterGate] = weakref.WeakKeyDictionary()
_gates_lock = threading.Lock()


def _writer_gate(session: Session) -> contextlib.AbstractContextManager[Any]:
    """This machine's queue of SQLite writers (see `_SqliteWriterGate`)."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or not isinstance(bind, Engine):
        return contextlib.nullcontext()
    with _gates_lock:
        gate = _gates.get(bind)
        if gate is None or not gate.usable:
            gate = _gates[bind] = _SqliteWriterGate(bind.url.database)
    return gate


def run_write(session: Session, work: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """Run `work` in one write transaction and commit; retry on contention."""
    for attempt in range(1, attempts + 1):
        try:
            with _writer_gate(session):
                begin_write(session)  # inside: BEGIN IMMEDIATE may find the database busy
                result = work()
                session.commit()
            return result
        except DBAPIError as exc:
            session.rollback()
            if attempt == attempts or not retryable(exc):
                raise
            log.info("queue write retried (attempt %d): %s", attempt, exc.orig)
            # Full jitter: retries of windows that collided must not collide again.
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


def insert_ignore(session: Session, model: type[Any], values: dict[str, Any]) -> None:
    """Insert a row unless its key exists, without a race between two workers."""
    session.execute(_insert_ignore(dialect(session), cast(Table, model.__table__)), values)


@functools.cache
def _insert_ignore(dialect_name: str, table: Table) -> Any:
    """Built once per table: building the statement cost more than running it
    (every ticket issued and every window verb runs one)."""
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()


def lock_window_state(session: Session, window_id: int, now: Any) -> WindowState:
    state = session.get(WindowState, window_id, with_for_update=True, populate_existing=True)
    if state is None:  # the window's first verb ever
        insert_ignore(
            session, WindowState, {"window_id": window_id, "status": "closed", "updated_at": now}
        )
        state = session.get(WindowState, window_id, with_for_update=True, populate_existing=True)
    assert state is not None
    return state


_WINDOW_AND_STATE = (
    select(Window, WindowState)
    .join(WindowState, WindowState.window_id == Window.id)
    .where(Window.number == bindparam("number"))
    .with_for_update(of=WindowState)
    .execution_options(populate_existing=True)
)
_WINDOW_STATE_AND_TICKET = (
    select(Window, WindowState, Ticket)
    .join(WindowState, WindowState.window_id == Window.id)
    .outerjoin(Ticket, Ticket.id == WindowState.current_ticket_id)
    .where(Window.number == bindparam("number"))
    .execution_options(populate_existing=True)
)


def lock_window_by_number(
    session: Session, number: int
) -> tuple[Window, WindowState, Ticket | None] | None:
    """The window, its locked state row and, on SQLite, its current ticket,
    in one query; None when the window or its state is missing (no such
    window, or its first verb ever: see `lock_window_state`).

    On SQLite the verb's transaction holds the database's write lock, so the
    current ticket read here is as good as locked, and most verbs act on it.
    PostgreSQL cannot lock the nullable side of an outer join: there the
    ticket is None and is locked on its own (`lock_ticket`) when needed.
    """
    if dialect(session) == "sqlite":
        found = session.execute(_WINDOW_STATE_AND_TICKET, {"number": number}).first()
        return None if found is None else (found[0], found[1], found[2])
    row = session.execute(_WINDOW_AND_STATE, {"number": number}).first()
    return None if row is None else (row[0], row[1], None)


def lock_ticket(session: Session, ticket_id: int) -> Ticket | None:
    return session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)


def lock_counter(session: Session, service_id: int, day: Any) -> DayCounter:
    insert_ignore(
        session, DayCounter, {"service_id": service_id, "day": day, "last_number": 0, "issued": 0}
    )
    counter = session.get(
        DayCounter, (service_id, day), with_for_update=True, populate_existing=True
    )
    assert counter is not None
    return counter


def lock_fairness_chain(session: Session) -> None:
    """Serialise appends to the hash chain until this transaction ends."""
    if dialect(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FAIRNESS_LOCK_KEY})
