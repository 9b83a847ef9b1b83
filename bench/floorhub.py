"""The floor of the queue benchmarks (`ticket-throughput`, `call-latency`)
with this stack: the thinnest hub that keeps every operation.

`bench.nullhub` measures HTTP, FastAPI and the load generator alone; it
stores nothing, so it says little about what a hub that keeps its tickets
could reach. This one answers the same routes and stores each operation as
the real hub must, and no more:

- issue: the service's day counter is incremented, the ticket inserted with
  a random token, an ``issued`` event appended, one transaction; then the
  people ahead are counted;
- citizen view: the ticket by its token, and the people ahead;
- call next: the window's row locked, its ticket finished when the press
  says so (``finish_current``), the oldest waiting ticket taken
  (PostgreSQL ``FOR UPDATE SKIP LOCKED``), the ticket and the window updated,
  a ``called`` event appended, one transaction; then the window's board
  topic published (retained, QoS 1), as the null hub does;
- start, finish: the window's ticket moved on, an event appended, one
  transaction each.

It runs each write through the real hub's plumbing (`central.db.make_engine`,
`central.queueing.locking.run_write`: SQLite's ``BEGIN IMMEDIATE`` and the
writers' queue, retries, a `Session` per request) and every statement as
the hub runs its hottest ones, compiled by SQLAlchemy and sent on the
driver's cursor (`central.direct.Direct`), on the event loop as the hub runs
its verbs. What it leaves out is what makes the hub a queue system: sign-in
and CSRF, priority classes and the weighted call-next rule, the fairness
chain, the hall-state rounds, estimates, notifications, the refusals'
checks, ORM objects. So the real hub can only be slower: when this floor
itself misses a target, a hub built as ours is (FastAPI, SQLAlchemy, the
same plumbing) cannot meet it on this machine. (A hub on plain `sqlite3`
could go further: a throwaway one of the same shape reached about 1.7 times
this floor's operations/s; docs/benchmarks.md, ninth session.)

(Its first version ran the same statements through `Session.execute`:
SQLite 1,180–1,670 operations/s against 1,790–2,260 on the driver's cursor,
PostgreSQL 430–900 against 1,015–1,090, the same hour.)

Served like the real hub (uvicorn, httptools, uvloop, several worker
processes); `ANXIN_BENCH_FLOOR_DB` names its database (the tables are its own,
created by `create_schema`), `ANXIN_BENCH_NULL_MQTT_PORT` the broker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI, HTTPException
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from bench import nullhub
from bench.queuehub import PATHS, SERVICES, null_hub_process, service_code
from central.db import make_engine, make_sessionmaker
from central.direct import Direct
from central.queueing.locking import run_write

DB_ENV: Final = "ANXIN_BENCH_FLOOR_DB"

metadata = MetaData()
tickets = Table(
    "floor_tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("service", String(32), nullable=False),
    Column("number", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("token", String(32), nullable=False, unique=True),
    Column("window", Integer),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("called_at", DateTime(timezone=True)),
    Index("ix_floor_tickets_waiting", "state", "id"),
    Index("ix_floor_tickets_service", "service", "state", "id"),
)
events = Table(
    "floor_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, nullable=False),
    Column("verb", String(16), nullable=False),
    Column("window", Integer),
    Column("at", DateTime(timezone=True), nullable=False),
)
windows = Table(
    "floor_windows",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("ticket_id", Integer),
)
counters = Table(
    "floor_counters",
    metadata,
    Column("service", String(32), primary_key=True),
    Column("last", Integer, nullable=False),
)

WINDOWS: Final = 200


def service_codes() -> list[str]:
    """The codes the load generator issues for (`bench.ticket_throughput`)."""
    return [service_code(p) for p in SERVICES]


def create_schema(url: str, *, seed_per_service: int) -> list[str]:
    """Create the floor's tables in `url`, with its windows and counters and
    `seed_per_service` waiting tickets per service; returns their tokens
    (for the citizen views)."""
    engine = make_engine(url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with Session(engine) as session:
            session.execute(insert(windows), [{"number": n} for n in range(1, WINDOWS + 1)])
            session.execute(insert(counters), [{"service": s, "last": 0} for s in service_codes()])
            session.commit()
            tokens = [
                _issue(session, service)["token"]
                for service in service_codes()
                for _ in range(seed_per_service)
            ]
            session.commit()
            return tokens
    finally:
        engine.dispose()


def database_beside(hub_url: str, workdir: Path) -> str:
    """Where the floor keeps its tables when the hub measured uses `hub_url`:
    a SQLite file of its own, or the same PostgreSQL database (the floor's
    table names are its own)."""
    return f"sqlite:///{workdir / 'floor.sqlite3'}" if hub_url.startswith("sqlite") else hub_url


def served(
    database_url: str, *, workers: int, log: Path, mqtt_port: int
) -> contextlib.AbstractContextManager[str]:
    """The floor hub on `database_url` (made by `create_schema`), served as
    the hub is; yields its URL."""
    return null_hub_process(
        workers=workers, log=log, mqtt_port=mqtt_port, app="bench.floorhub:app",
        env={DB_ENV: database_url},
    )  # fmt: skip


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Built once with bound parameters and run on the driver's cursor
# (`central.direct.Direct`), as the hub runs its hot statements.
_AHEAD = Direct(
    select(func.count())
    .select_from(tickets)
    .where(
        tickets.c.service == bindparam("code"),
        tickets.c.state == "waiting",
        tickets.c.id < bindparam("id"),
    )
)
_COUNT = Direct(
    update(counters)
    .where(counters.c.service == bindparam("code"))
    .values(last=counters.c.last + 1)
    .returning(counters.c.last)
)
_INSERT_TICKET = Direct(
    insert(tickets)
    .values(
        service=bindparam("code"), number=bindparam("shown"), state="waiting",
        token=bindparam("secret"), issued_at=bindparam("now"),
    )
    .returning(tickets.c.id)
)  # fmt: skip
_INSERT_EVENT = Direct(
    insert(events).values(
        ticket_id=bindparam("ticket"), verb=bindparam("what"), window=bindparam("n"),
        at=bindparam("now"),
    )
)  # fmt: skip
_BY_TOKEN = Direct(
    select(tickets.c.id, tickets.c.service, tickets.c.number, tickets.c.state).where(
        tickets.c.token == bindparam("secret")
    )
)
_WINDOW_TICKET = Direct(
    select(windows.c.ticket_id).where(windows.c.number == bindparam("n")).with_for_update()
)
_OLDEST_WAITING = Direct(
    select(tickets.c.id, tickets.c.number)
    .where(tickets.c.state == "waiting")
    .order_by(tickets.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_CALL = Direct(
    update(tickets)
    .where(tickets.c.id == bindparam("ticket"))
    .values(state="called", window=bindparam("n"), called_at=bindparam("now"))
)
_SET_WINDOW = Direct(
    update(windows).where(windows.c.number == bindparam("n")).values(ticket_id=bindparam("held"))
)
_HELD = tickets.c.state.in_([literal("called"), literal("serving")])  # no expanding parameter
_FINISH = Direct(
    update(tickets).where(tickets.c.id == bindparam("ticket"), _HELD).values(state="done")
)
_MOVE = Direct(
    update(tickets)
    .where(tickets.c.id == bindparam("ticket"), tickets.c.state == bindparam("was"))
    .values(state=bindparam("becomes"))
)


def _event(session: Session, ticket: int, what: str, n: int | None, now: dt.datetime) -> None:
    _INSERT_EVENT.execute(
        session.connection(), {"ticket": ticket, "what": what, "n": n, "now": now}
    )


def _ahead(session: Session, service: str, ticket_id: int) -> int:
    return int(_AHEAD.scalar(session.connection(), {"code": service, "id": ticket_id}))


def _issue(session: Session, service: str) -> dict[str, Any]:
    """An issue's writes (the caller commits)."""
    last = _COUNT.scalar(session.connection(), {"code": service})
    if last is None:
        raise HTTPException(404, f"no service {service!r}")
    number = f"{service[-1].upper()}{last:03d}"
    token = secrets.token_urlsafe(12)
    now = _now()
    ticket_id = _INSERT_TICKET.scalar(
        session.connection(), {"code": service, "shown": number, "secret": token, "now": now}
    )
    _event(session, ticket_id, "issued", None, now)
    return {"id": ticket_id, "number": number, "token": token, "service": service}


_sessions: sessionmaker[Session] | None = None


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    global _sessions
    engine = make_engine(os.environ[DB_ENV])
    _sessions = make_sessionmaker(engine)
    try:
        async with nullhub.lifespan(app):
            yield
    finally:
        engine.dispose()


app = FastAPI(title="anxin bench floor hub", lifespan=_lifespan)
app.include_router(nullhub.common)


def _session() -> Session:
    assert _sessions is not None, "the app's lifespan has not started"
    return _sessions()


@app.post(PATHS.issue)
async def issue(body: dict[str, Any]) -> dict[str, Any]:
    service = str(body.get("service"))
    with _session() as session:
        ticket = run_write(session, lambda: _issue(session, service))
        ticket["ahead"] = _ahead(session, service, ticket["id"])
        session.commit()
    return ticket


@app.get(PATHS.citizen)
async def citizen(token: str) -> dict[str, Any]:
    with _session() as session:
        found = _BY_TOKEN.rows(session.connection(), {"secret": token})
        if not found:
            raise HTTPException(404, "no such ticket")
        ticket_id, service, number, state = found[0]
        ahead = _ahead(session, service, ticket_id) if state == "waiting" else 0
        session.commit()
    return {"number": number, "state": state, "ahead": ahead}


def _window_ticket(session: Session, n: int) -> int | None:
    """The window's ticket, the window's row locked."""
    found = _WINDOW_TICKET.rows(session.connection(), {"n": n})
    return found[0][0] if found else None


@app.post(PATHS.next)
async def call_next(n: int, body: dict[str, Any]) -> dict[str, Any]:
    finish_current = bool(body.get("finish_current"))

    def work() -> dict[str, Any] | None:
        now = _now()
        connection = session.connection()
        current = _window_ticket(session, n)
        if current is not None:
            # 办结并叫下一位 (`call-latency`'s press): finished in the same transaction.
            if not finish_current:
                raise HTTPException(409, "the window still has a ticket")
            _FINISH.execute(connection, {"ticket": current})
            _event(session, current, "done", n, now)
        found = _OLDEST_WAITING.rows(connection)
        if not found:
            return None
        ticket_id, number = found[0]
        _CALL.execute(connection, {"ticket": ticket_id, "n": n, "now": now})
        _SET_WINDOW.execute(connection, {"n": n, "held": ticket_id})
        _event(session, ticket_id, "called", n, now)
        return {"id": ticket_id, "number": number, "state": "called"}

    with _session() as session:
        ticket = run_write(session, work)
    if ticket is not None:
        nullhub.publish_call(n, ticket["number"])
    return {"window": n, "ticket": ticket}


def _step(n: int, was: str, becomes: str) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        connection = session.connection()
        ticket_id = _window_ticket(session, n)
        params = {"ticket": ticket_id, "was": was, "becomes": becomes}
        if ticket_id is None or _MOVE.execute(connection, params) != 1:
            raise HTTPException(409, f"the window has no ticket {was}")
        _event(session, ticket_id, becomes, n, _now())
        if becomes == "done":
            _SET_WINDOW.execute(connection, {"n": n, "held": None})
        return {"id": ticket_id, "state": becomes}

    with _session() as session:
        return {"window": n, "ticket": run_write(session, work)}


@app.post(PATHS.start)
async def start(n: int) -> dict[str, Any]:
    return _step(n, "called", "serving")


@app.post(PATHS.finish)
async def finish(n: int, body: dict[str, Any]) -> dict[str, Any]:
    return {**_step(n, "serving", "done"), "outcome": body.get("outcome")}
