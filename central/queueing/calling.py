"""The call-next rule: which waiting ticket a window gets when its clerk
presses "next" (下一位), and why.

1. Candidates are today's waiting tickets of the services the window serves
   (`WindowService`) that the signed-in clerk is certified for
   (`ClerkService`).
2. Priority class first: 绿色通道 (green) > VIP > appointment due > normal.
   An appointment ticket ranks as an appointment only within
   ``queue.appointment_window_s`` of its booked time (early or late); outside
   that window it is an ordinary ticket ordered by its ``queued_at``.
3. Within the highest class present, the largest weighted waiting time wins:
   (now − queued_at) × the window's weight for the ticket's service. A window
   serving several services is thus fair to each of them: a service with few
   visitors is not starved by a busy one, and the weights let a hall lean a
   window towards its main service.
4. Ties: earlier ``queued_at``, then lower id.

Within one service and class the head of the queue (earliest ``queued_at``)
always has the largest weighted wait, so for the many normal tickets the
engine reads only each service's head (one index probe per service); the
few tickets of higher classes are read with them, in the same statement,
and ranked in Python. The choice and the competitors it beat are returned
as `Pick.why` and stored in the call's timeline event, so any call can be
explained afterwards.

Under contention on PostgreSQL the heads are read with ``FOR UPDATE SKIP
LOCKED``: a head another window is considering at that instant is skipped, so
that window may get the next ticket instead of waiting. No ticket is ever
handed to two windows; the order can differ from the single-window order by
the tickets in flight at that moment.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ScalarSelect, Select, and_, bindparam, literal, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ExecutableReturnsRows

from anxin.settings import QueueSettings
from central.direct import Direct
from central.queueing.models import (
    ClerkService,
    Priority,
    Service,
    Ticket,
    TicketState,
    WindowService,
)

CLASS_ORDER: Final = (Priority.GREEN, Priority.VIP, Priority.APPOINTMENT, Priority.NORMAL)
_SPECIAL_MAX: Final = 500  # a hall never has this many priority tickets waiting
CLASS_LABELS: Final = {
    Priority.GREEN: "绿色通道",
    Priority.VIP: "优先",
    Priority.APPOINTMENT: "预约到时",
    Priority.NORMAL: "普通",
}


@dataclass(frozen=True)
class Candidate:
    ticket: Ticket
    klass: Priority
    weight: float
    waited_s: float
    locked: bool  # already locked by the query that found it

    @property
    def score(self) -> float:
        return self.waited_s * self.weight

    def key(self) -> tuple[float, dt.datetime, int]:
        return (-self.score, self.ticket.queued_at, self.ticket.id)

    def brief(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket.id,
            "number": self.ticket.number,
            "service_id": self.ticket.service_id,
            "class": self.klass.value,
            "weight": self.weight,
            "waited_s": round(self.waited_s, 1),
            "score": round(self.score, 1),
        }


@dataclass(frozen=True)
class Pick:
    ticket: Ticket
    why: dict[str, Any]


_ELIGIBLE = Direct(
    select(WindowService.service_id, WindowService.weight)
    .join(Service, Service.id == WindowService.service_id)
    .join(
        ClerkService,
        and_(
            ClerkService.service_id == WindowService.service_id,
            ClerkService.user_id == bindparam("clerk"),
        ),
    )
    .where(WindowService.window_id == bindparam("window"), Service.active.is_(True))
)


def eligible_services(session: Session, *, window_id: int, clerk_id: int) -> dict[int, float]:
    """Service id -> weight: served by the window, and the clerk is certified for it."""
    # Configuration no verb changes: a plain read, no flush of the verb's state first.
    rows = _ELIGIBLE.rows(session.connection(), {"window": window_id, "clerk": clerk_id})
    return {sid: float(weight) for sid, weight in rows}


_WAITING = and_(Ticket.day == bindparam("day"), Ticket.state == TicketState.WAITING.value)
_QUEUE_ORDER = (Ticket.queued_at, Ticket.id)
# Statements built once: building a Select costs more Python than running it.
# Lists in them are bound values, never an expanding parameter, whose SQL
# SQLAlchemy rewrites at every run: the classes above normal here, the
# window's services as numbered parameters (`_services_and_day`).
_ABOVE_NORMAL = Ticket.priority.in_([literal(p.value) for p in CLASS_ORDER if p != Priority.NORMAL])
_NORMAL_WAITING = and_(_WAITING, Ticket.priority == Priority.NORMAL.value)
_STILL_WAITING_LOCKED = (
    select(Ticket)
    .where(Ticket.id == bindparam("ticket"), Ticket.state == TicketState.WAITING.value)
    .with_for_update(skip_locked=True)
)


def ticket_class(ticket: Ticket, now: dt.datetime, settings: QueueSettings) -> Priority:
    """The class a waiting ticket has now (an appointment only near its time)."""
    klass = Priority(ticket.priority)
    if klass != Priority.APPOINTMENT:
        return klass
    window = dt.timedelta(seconds=settings.appointment_window_s)
    at = ticket.appointment_at
    if at is not None and at - window <= now <= at + window:
        return Priority.APPOINTMENT
    return Priority.NORMAL


def pick_next(
    session: Session,
    *,
    services: dict[int, float],
    day: dt.date,
    now: dt.datetime,
    settings: QueueSettings,
    lock: bool,
) -> Pick | None:
    """The ticket the rule gives a window serving `services` now, or None.

    With `lock`, the picked ticket is locked (``FOR UPDATE SKIP LOCKED``) for
    the caller's transaction; without, it only reads (to tell whether a
    specific call is out of order).

    Tickets of a higher class than normal are few, so they are all read
    and ranked here; normal tickets are many, so only the head of each
    service's normal queue is read (one index probe per service). Both come
    in one statement (`_candidates`).
    """
    if not services:
        return None
    special, heads = _candidates(session, sorted(services), day=day, lock=lock)
    by_class: dict[Priority, list[Candidate]] = {k: [] for k in CLASS_ORDER}
    for t in special:
        waited = (now - t.queued_at).total_seconds()
        klass = ticket_class(t, now, settings)
        by_class[klass].append(Candidate(t, klass, services[t.service_id], waited, False))
    for klass in CLASS_ORDER:
        found = by_class[klass]
        if klass == Priority.NORMAL:
            for head in heads:
                # Locked: by its own query, or by SQLite's write lock (with `lock`).
                waited = (now - head.queued_at).total_seconds()
                found.append(Candidate(head, klass, services[head.service_id], waited, lock))
        found.sort(key=Candidate.key)
        for i, best in enumerate(found):
            if best.locked or not lock or _lock(session, best.ticket.id):
                return Pick(best.ticket, _why(best, found[:i] + found[i + 1 :]))
    return None


def _candidates(
    session: Session, services: list[int], *, day: dt.date, lock: bool
) -> tuple[list[Ticket], list[Ticket]]:
    """The waiting tickets of a class above normal, and the head of each
    service's normal queue, in one statement: one round trip.

    Locking on PostgreSQL, each head is read by a ``FOR UPDATE SKIP LOCKED``
    sub-select: a head another window is considering at that instant is
    passed over for the next in its queue. The tickets of a higher class are
    read without a lock and locked only when picked (`_lock`). (The heads are
    then locked even when a ticket of a higher class wins; it is the rarer
    case, and it costs other windows no more than the order of one call.)
    Elsewhere SQLite's write lock already serialises the verb, or the read
    is a check that takes no locks.
    """
    locked = lock and session.get_bind().dialect.name == "postgresql"
    rows = session.scalars(
        _candidates_in_one(len(services), locked=locked), _services_and_day(services, day)
    )
    special: list[Ticket] = []
    heads: list[Ticket] = []
    for t in rows:
        (heads if t.priority == Priority.NORMAL.value else special).append(t)
    return special, heads


def _services_and_day(services: list[int], day: dt.date) -> dict[str, object]:
    """The parameters of the statements below: services ``s0, s1, …`` and the day."""
    return {**{f"s{i}": sid for i, sid in enumerate(services)}, "day": day}


def _special_ids(count: int) -> Select[int]:
    """The ids of the waiting tickets of a class above normal of services
    ``s0, s1, …``, first come first."""
    ours = Ticket.service_id.in_([bindparam(f"s{i}") for i in range(count)])
    return (
        select(Ticket.id)
        .where(ours, _WAITING, _ABOVE_NORMAL)
        .order_by(*_QUEUE_ORDER)
        .limit(_SPECIAL_MAX)
    )


def _head_ids(count: int, *, locked: bool) -> list[ScalarSelect[int]]:
    """The id of the first normal ticket of services ``s0, s1, …``, one
    index probe each; `locked`: locking it, past heads locked by others."""
    heads = []
    for i in range(count):
        head = (
            select(Ticket.id)
            .where(Ticket.service_id == bindparam(f"s{i}"), _NORMAL_WAITING)
            .order_by(*_QUEUE_ORDER)
            .limit(1)
        )
        if locked:
            head = head.with_for_update(skip_locked=True)
        heads.append(head.scalar_subquery())
    return heads


@functools.cache
def _candidates_in_one(count: int, *, locked: bool) -> ExecutableReturnsRows:
    """``tickets WHERE id IN (head of s0, head of s1, …) UNION ALL tickets
    WHERE id IN (the first _SPECIAL_MAX of a higher class)``, built once per
    count of services; `locked`: each head's sub-select locks the head it
    finds (PostgreSQL). Two look-ups by key: joined by ``OR`` instead,
    PostgreSQL read the whole table (a filter with a hashed sub-plan)."""
    both = union_all(
        select(Ticket).where(Ticket.id.in_(_head_ids(count, locked=locked))),
        select(Ticket).where(Ticket.id.in_(_special_ids(count))),
    )
    return select(Ticket).from_statement(both)


def _lock(session: Session, ticket_id: int) -> bool:
    """Lock a ticket read without a lock, if it is still waiting and free."""
    return session.scalars(_STILL_WAITING_LOCKED, {"ticket": ticket_id}).first() is not None


def _why(best: Candidate, others: list[Candidate]) -> dict[str, Any]:
    text = (
        f"等候的最高类别为“{CLASS_LABELS[best.klass]}”；其中加权等候最长"
        f"（等候 {best.waited_s:.0f} 秒 × 权重 {best.weight:g} = {best.score:.0f}）"
    )
    return {
        "rule": "class_then_weighted_wait",
        "picked": best.brief(),
        "beaten": [c.brief() for c in others],
        "text": text,
    }
