"""`anxin bench queue-verbs`: the CPU a queue verb costs inside the hub, with
no HTTP, broker or second process around it.

The end-to-end queue benchmarks (`call-latency`, `ticket-throughput`) swing
by half between runs on a shared 2-core machine; this one measures only the
verb's own thread (``time.thread_time``), best of several rounds, on a fresh
SQLite database holding the 76-window benchmark hall (`bench.queuehub`), with
the hub's in-transaction listener (the SMS outbox's `NotificationQueuer`), so
one verb's cost can be compared from one change to the next. It also counts
the SQL statements each verb sends, which do not vary at all.

- ``issue``: a kiosk ticket (the hall's services in turn);
- ``call_next_finish``: a one-button caller's "next", which finishes the
  window's ticket and calls the next one in one transaction;
- ``citizen_view``: what the citizen page's status (``/t/{token}/status``,
  polled every few seconds by every phone in the hall) reads about a ticket,
  cycling over the day's tickets (waiting, called and done).

Target: call-next+finish ≤ 150 ms / 76 ≈ 1.97 ms. On SQLite every verb holds
the database's one write lock for at least its own CPU time, so that is the
most a verb may cost for 76 windows pressing at once to reach their boards
within `call-latency`'s 150 ms (before HTTP and the broker).
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from bench.queuehub import SERVICES, WINDOWS, bench_settings, hall_database, service_code
from broker.contract import utcnow
from central.direct import Direct
from central.queueing import citizen, service
from central.queueing.events import QueueBus
from central.queueing.models import Channel, Ticket
from central.queueing.notify import NotificationQueuer
from central.queueing.txn import Actor

CALL_TARGET_MS: Final = round(150.0 / WINDOWS, 2)


class _Statements:
    """Counts the statements an engine sends, those on the driver's cursor
    (`central.direct`) included."""

    def __init__(self, engine: Engine) -> None:
        self._seen_here = 0
        self._direct_from = Direct.executed
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self._seen_here += 1

    @property
    def count(self) -> int:
        return self._seen_here + Direct.executed - self._direct_from

    def reset(self) -> None:
        self._seen_here, self._direct_from = 0, Direct.executed


def _verbs(sessions: sessionmaker[Session], settings: Settings) -> dict[str, Callable[[], object]]:
    bus = QueueBus()
    bus.on_transition(NotificationQueuer(signature=settings.notify.signature))
    actor = Actor(user_id=None, any_window=True)
    codes = itertools.cycle(service_code(p) for p in SERVICES)
    windows: Iterator[int] = itertools.cycle(range(1, WINDOWS + 1))

    def issue() -> object:
        with sessions() as s:
            return service.issue(s, service=next(codes), channel=Channel.KIOSK, bus=bus,
                                 settings=settings)  # fmt: skip

    def call_next_finish() -> object:
        with sessions() as s:
            return service.call_next(s, window=next(windows), actor=actor, bus=bus,
                                     settings=settings, finish_current="completed")  # fmt: skip

    tokens: collections.deque[str] = collections.deque()
    zone = dt.timezone(dt.timedelta(hours=8))

    def citizen_view() -> object:
        if not tokens:
            with sessions() as s:
                tokens.extend(s.scalars(select(Ticket.token).order_by(Ticket.id)))
        token = tokens[0]
        tokens.rotate(-1)
        with sessions() as s:
            found = citizen.find_ticket(s, token)
            assert found is not None
            return citizen.status_context(s, found, zone=zone, now=utcnow())

    return {"issue": issue, "call_next_finish": call_next_finish, "citizen_view": citizen_view}


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    del settings  # the database here is the benchmark's own
    rounds, per_round = (3, 150) if quick else (5, 400)
    metrics: dict[str, Any] = {"database": "sqlite", "rounds": rounds, "verbs_per_round": per_round}
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as tmp:
        root = Path(tmp)
        hub = bench_settings(f"sqlite:///{root / 'hub.sqlite3'}", root)
        with hall_database(hub) as sessions:
            bind = sessions.kw["bind"]
            assert isinstance(bind, Engine)
            statements = _Statements(bind)
            verbs = _verbs(sessions, hub)
            # Enough waiting for every call, then one call per window to warm up.
            for _ in range(WINDOWS + rounds * per_round * 2):
                verbs["issue"]()
            for _ in range(WINDOWS):
                verbs["call_next_finish"]()
            for name, verb in verbs.items():
                best = float("inf")
                for _ in range(rounds):
                    statements.reset()
                    t0 = time.thread_time()
                    for _ in range(per_round):
                        verb()
                    best = min(best, (time.thread_time() - t0) * 1000 / per_round)
                metrics[f"{name}_ms_cpu"] = round(best, 3)
                metrics[f"{name}_sql_statements"] = round(statements.count / per_round, 2)
    return {
        "bench": "queue-verbs",
        "metrics": metrics,
        "targets": {"call_next_finish_ms_cpu": CALL_TARGET_MS},
        "pass": metrics["call_next_finish_ms_cpu"] <= CALL_TARGET_MS,
    }
