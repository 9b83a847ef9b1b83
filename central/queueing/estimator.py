"""Estimated wait per service and per ticket, from live service rates.

The estimator (also in docs/queueing.md):

1. **People ahead** of a ticket: the waiting tickets of its service that the
   call-next rule takes first, i.e. a higher priority class (绿色通道, VIP,
   appointment, normal), or the same class and an earlier ``queued_at``.
   A ticket taken now at a kiosk has every waiting ticket of its service
   ahead. Called, serving and parked tickets are not ahead.
2. **Handling time h** of the service: an exponentially weighted moving
   average (weight ``ALPHA`` for the newest) over the service's latest
   ``MAX_SAMPLES`` completions today, across all windows; a sample is the time
   the ticket held its window (call to end, so walk-up and no-show time
   count). The average starts from the configured ``avg_handling_s``, so the
   morning's first tickets fall back to it and it fades after ~20
   completions. A sample is clamped to ``[avg/5, 5·avg]`` so that a clerk who
   forgot to press "finish" does not move the estimate by an hour.
3. **Capacity**: each open window serving the service gives a share of its
   time, ``weight(s) / Σ weight(s')`` over the window's services that have
   people waiting (a window serving two busy queues gives each part of its
   time). Paused and closed windows give nothing; with no capacity there is
   no estimate (``None``: "暂无窗口办理").
4. **Wait** for ``k`` people ahead: a small list simulation. Each window is
   free at ``max(h − elapsed, h/4)`` (busy: the rest of its current ticket) or
   now (idle), divided by its share; the ``k + 1`` people are dealt to
   whichever window frees first, each taking ``h / share``; the wait is when
   the ``(k+1)``-th starts. With c equal windows this is about
   ``residual + k·h/c``, the classic multi-server estimate, but it also knows
   that a window 9 minutes into a 10-minute job frees soon.
5. Clamped to ``[0, MAX_WAIT_MIN]`` and shown rounded to whole minutes.

`WaitErrorMeter` measures the error against what really happened (estimate
at issue vs wait until the first call): the simulated-day test and the
benchmark report its mean absolute error in minutes.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, cast

from sqlalchemy import Engine, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from central.direct import Direct
from central.queueing.calling import CLASS_ORDER
from central.queueing.models import (
    Service,
    Ticket,
    TicketState,
    WindowService,
    WindowState,
    WindowStatus,
)

ALPHA: Final = 0.1
MAX_SAMPLES: Final = 40
MAX_WAIT_MIN: Final = 480.0
SAMPLE_CLAMP: Final = 5.0
MIN_RESIDUAL: Final = 0.25

# The call-next rule's order of classes, as ranks for SQL: one order for
# the estimate and the SMS front (`notify`), so neither can miss a class.
PRIORITY_RANK: Final = {p.value: rank for rank, p in enumerate(CLASS_ORDER)}


@dataclass(frozen=True)
class WindowCapacity:
    """An open window as one service sees it."""

    share: float  # of its time going to this service, (0, 1]
    busy_for_s: float | None  # elapsed time of its current ticket; None when idle


@dataclass(frozen=True)
class ServiceLoad:
    """Everything the estimate of one service needs, as plain data."""

    service_id: int
    avg_handling_s: float
    durations_s: tuple[float, ...]  # recent window-holding times, oldest first
    windows: tuple[WindowCapacity, ...]  # open windows serving the service
    waiting: int

    @property
    def capacity(self) -> float:
        return sum(w.share for w in self.windows)


@dataclass(frozen=True)
class Estimate:
    ahead: int
    minutes: float | None  # None: no open window serves the service

    @property
    def shown_minutes(self) -> int | None:
        return None if self.minutes is None else round(self.minutes)


def handling_time_s(avg_handling_s: float, durations_s: Iterable[float]) -> float:
    """EWMA of recent holding times, seeded with the configured average."""
    seed = max(1.0, avg_handling_s)
    h = seed
    for x in durations_s:
        x = min(max(x, seed / SAMPLE_CLAMP), seed * SAMPLE_CLAMP)
        h = ALPHA * x + (1 - ALPHA) * h
    return h


def wait_minutes(load: ServiceLoad, ahead: int) -> float | None:
    """Minutes until a ticket with `ahead` people before it is called."""
    windows = [w for w in load.windows if w.share > 0]
    if not windows:
        return None
    h = handling_time_s(load.avg_handling_s, load.durations_s)
    free_at: list[tuple[float, int]] = []
    for i, w in enumerate(windows):
        rest = 0.0 if w.busy_for_s is None else max(h - w.busy_for_s, h * MIN_RESIDUAL)
        free_at.append((rest / w.share, i))
    heapq.heapify(free_at)
    start = 0.0
    # Deal people out one by one; past a few hundred the steady rate is exact enough.
    steps = min(ahead, 400)
    for _ in range(steps + 1):
        start, i = heapq.heappop(free_at)
        heapq.heappush(free_at, (start + h / windows[i].share, i))
    if ahead > steps:
        start += (ahead - steps) * h / load.capacity
    return min(max(start / 60.0, 0.0), MAX_WAIT_MIN)


# --- from the database -------------------------------------------------------------


class Queued(Protocol):
    """What the estimate reads of a ticket: a `Ticket`, or a row of it (the
    citizen page's `citizen.Seen`)."""

    @property
    def id(self) -> int: ...
    @property
    def day(self) -> dt.date: ...
    @property
    def service_id(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def queued_at(self) -> dt.datetime: ...


def people_ahead(session: Session, ticket: Queued) -> int:
    """Waiting tickets of the same service that the call-next rule takes first."""
    if ticket.state != TicketState.WAITING:
        return 0
    values = {
        "day": ticket.day, "service": ticket.service_id, "id": ticket.id,
        "rank": PRIORITY_RANK.get(ticket.priority, len(PRIORITY_RANK)),
        "queued_at": ticket.queued_at,
    }  # fmt: skip
    return int(_AHEAD.scalar(session.connection(), values) or 0)


# Built once: every citizen page's poll and every issued ticket counts this.
_RANK = case(PRIORITY_RANK, value=Ticket.priority, else_=len(PRIORITY_RANK))
_AHEAD = Direct(
    select(func.count()).where(
        Ticket.day == bindparam("day"),
        Ticket.service_id == bindparam("service"),
        Ticket.state == TicketState.WAITING.value,
        Ticket.id != bindparam("id"),
        or_(
            bindparam("rank") > _RANK,
            and_(
                bindparam("rank") == _RANK,
                or_(
                    Ticket.queued_at < bindparam("queued_at"),
                    and_(Ticket.queued_at == bindparam("queued_at"), Ticket.id < bindparam("id")),
                ),
            ),
        ),
    )
)


def service_loads(
    session: Session, *, day: dt.date, now: dt.datetime, service_ids: Sequence[int] | None = None
) -> dict[int, ServiceLoad]:
    """Load of every active service (or of `service_ids`): a few small queries.

    They read the whole hall even for one service: a hall has tens of
    services and windows, and one statement for all costs less than
    SQLAlchemy's building and running a filtered one (see `Direct`)."""
    connection = session.connection()
    wanted = None if service_ids is None else set(service_ids)
    services: dict[int, int] = {
        sid: avg
        for sid, avg in _ACTIVE_SERVICES.rows(connection)
        if wanted is None or sid in wanted
    }
    if not services:
        return {}
    waiting: dict[int, int] = {
        sid: int(n) for sid, n in _WAITING.rows(connection, {"day": day, "state": _WAITING_STATE})
    }
    # Open windows with each service they serve, weight, and their current ticket's call time.
    rows = _OPEN_WINDOWS.rows(connection, {"status": _OPEN_STATUS})
    by_window: dict[int, list[tuple[int, float]]] = defaultdict(list)
    busy: dict[int, float | None] = {}
    for window_id, service_id, weight, called_at in rows:
        by_window[window_id].append((service_id, max(weight, 0.0)))
        busy[window_id] = None if called_at is None else max(0.0, (now - called_at).total_seconds())
    capacities: dict[int, list[WindowCapacity]] = defaultdict(list)
    for window_id, served in by_window.items():
        # A window's time goes to its services with people waiting, and to
        # the service asked about.
        with_waiting = sum(w for s, w in served if waiting.get(s, 0) > 0)
        for sid, weight in served:
            if sid not in services or weight <= 0:
                continue
            competing = with_waiting if waiting.get(sid, 0) > 0 else with_waiting + weight
            capacities[sid].append(WindowCapacity(weight / competing, busy[window_id]))
    durations = _recent_durations(session, day=day, service_ids=list(services))
    return {
        sid: ServiceLoad(
            service_id=sid,
            avg_handling_s=float(avg),
            durations_s=durations.get(sid, ()),
            windows=tuple(capacities.get(sid, ())),
            waiting=waiting.get(sid, 0),
        )
        for sid, avg in services.items()
    }


_WAITING_STATE: Final = TicketState.WAITING.value
_OPEN_STATUS: Final = WindowStatus.OPEN.value
_ACTIVE_SERVICES = Direct(
    select(Service.id, Service.avg_handling_s).where(Service.active.is_(True))
)
_WAITING = Direct(
    select(Ticket.service_id, func.count())
    .where(Ticket.day == bindparam("day"), Ticket.state == bindparam("state"))
    .group_by(Ticket.service_id)
)
_OPEN_WINDOWS = Direct(
    select(WindowState.window_id, WindowService.service_id, WindowService.weight, Ticket.called_at)
    .join(WindowService, WindowService.window_id == WindowState.window_id)
    .outerjoin(Ticket, Ticket.id == WindowState.current_ticket_id)
    .where(WindowState.status == bindparam("status"))
)


def _recent_durations(
    session: Session, *, day: dt.date, service_ids: list[int]
) -> dict[int, tuple[float, ...]]:
    """Each service's latest MAX_SAMPLES handling times today, oldest first.

    One short query per service, read backwards along
    ``ix_tickets_service_ended``: by the afternoon a hall has finished
    thousands of tickets, and one ranking query over all of them cost 5 ms
    at 3,000 where these cost well under one."""
    out: dict[int, tuple[float, ...]] = {}
    for sid in service_ids:
        rows = _DURATIONS.rows(session.connection(), {"service": sid, "day": day})
        if rows:
            # Both are set: the statement asks for them to be.
            out[sid] = tuple(
                (cast(dt.datetime, ended) - cast(dt.datetime, called)).total_seconds()
                for called, ended in reversed(rows)
            )
    return out


_DURATIONS = Direct(
    select(Ticket.called_at, Ticket.ended_at)
    .where(
        Ticket.service_id == bindparam("service"),
        Ticket.day == bindparam("day"),
        Ticket.ended_at.is_not(None),
        Ticket.called_at.is_not(None),
    )
    .order_by(Ticket.ended_at.desc())
    .limit(MAX_SAMPLES)
)


# Loads of the whole hall, per database, reused for LOADS_REUSE_S of hub time:
# issuing answers every ticket with its estimate, and re-reading every
# service's queue and windows for each one would double the cost of issuing.
# Kept by the engine's pool: the engines with options of one database (write
# sessions, read-only pages) share it.
LOADS_REUSE_S: Final = 1.0
_recent_loads: weakref.WeakKeyDictionary[Pool, tuple[dt.date, dt.datetime, dict[int, ServiceLoad]]]
_recent_loads = weakref.WeakKeyDictionary()
_recent_lock = threading.Lock()


def recent_service_loads(
    session: Session, *, day: dt.date, now: dt.datetime
) -> dict[int, ServiceLoad]:
    """`service_loads` of every service, computed at most LOADS_REUSE_S ago
    (by the hub's clock, so a simulated day stays deterministic)."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _recent_lock:
        hit = _recent_loads.get(engine.pool)
    if hit is not None and hit[0] == day and abs((now - hit[1]).total_seconds()) < LOADS_REUSE_S:
        return hit[2]
    loads = service_loads(session, day=day, now=now)
    with _recent_lock:
        _recent_loads[engine.pool] = (day, now, loads)
    return loads


def estimate_ticket(
    session: Session,
    ticket: Queued,
    *,
    now: dt.datetime,
    load: ServiceLoad | None = None,
    recent: bool = False,
) -> Estimate:
    """People ahead of a waiting ticket and its estimated wait in minutes.

    `recent`: use the hall's loads of the last second (`recent_service_loads`),
    for answers to a ticket just issued; the citizen page reads fresh ones.
    """
    ahead = people_ahead(session, ticket)
    if ticket.state != TicketState.WAITING:
        return Estimate(ahead=0, minutes=0.0)
    if load is None and recent:
        load = recent_service_loads(session, day=ticket.day, now=now).get(ticket.service_id)
    if load is None:
        loads = service_loads(session, day=ticket.day, now=now, service_ids=[ticket.service_id])
        load = loads.get(ticket.service_id)
    return Estimate(ahead=ahead, minutes=None if load is None else wait_minutes(load, ahead))


def estimate_new_ticket(load: ServiceLoad) -> float | None:
    """The wait of a normal ticket taken now: everyone waiting is ahead."""
    return wait_minutes(load, load.waiting)


class WaitErrorMeter:
    """Estimate at issue vs the real wait until first call, in minutes."""

    def __init__(self) -> None:
        self._estimates: dict[int, float] = {}
        self._errors: list[float] = []

    def issued(self, ticket_id: int, estimated_min: float | None) -> None:
        if estimated_min is not None:
            self._estimates[ticket_id] = estimated_min

    def called(self, ticket_id: int, waited_min: float) -> None:
        estimate = self._estimates.pop(ticket_id, None)
        if estimate is not None:
            self._errors.append(abs(estimate - waited_min))

    @property
    def count(self) -> int:
        return len(self._errors)

    def mean_absolute_error(self) -> float:
        return sum(self._errors) / len(self._errors) if self._errors else 0.0
