"""What the workstation page shows about one window, read fresh on every poll:
who is signed in, the window's ticket with its state and times, the waiting
counts of the window's services, the head of the queue, parked tickets and
how the last citizen rated. Read only; every change goes through the queue's
service layer (`central.workstation.views`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.auth.models import User
from central.queueing import reasons
from central.queueing.clock import operating_day
from central.queueing.models import (
    ClerkService,
    Priority,
    Service,
    Ticket,
    TicketState,
    Window,
    WindowService,
    WindowState,
    WindowStatus,
)
from central.queueing.states import STATE_LABELS
from central.ratings import codes
from central.ratings.models import Rating

QUEUE_SHOWN: Final = 8
PRIORITY_LABELS: Final = {
    Priority.GREEN.value: "绿色通道",
    Priority.VIP.value: "优先",
    Priority.APPOINTMENT.value: "预约",
}


def minutes(seconds: float) -> int:
    return max(0, int(seconds // 60))


def clock_text(seconds: float) -> str:
    """03:25 (or 1:03:25 past an hour)."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True)
class CurrentTicket:
    id: int
    number: str
    state: str
    state_label: str
    service: str
    priority: str | None
    citizen: str | None
    waited_min: int  # queued → first call
    at_window: str  # since called (mm:ss)
    serving: str | None  # since start (mm:ss)
    recalls: int


@dataclass(frozen=True)
class ServiceLine:
    code: str
    name: str
    prefix: str
    waiting: int
    certified: bool


@dataclass(frozen=True)
class QueuedTicket:
    id: int
    number: str
    service: str
    waited_min: int
    priority: str | None


@dataclass(frozen=True)
class LastRating:
    number: str
    rated: str | None  # the level's label; None: not rated (yet)


@dataclass
class Panel:
    number: int
    name: str
    status: str  # closed, open, paused
    status_label: str
    clerk: str | None
    clerk_id: int | None
    mine: bool  # the viewer is the clerk signed in here
    current: CurrentTicket | None = None
    services: list[ServiceLine] = field(default_factory=list)
    queue: list[QueuedTicket] = field(default_factory=list)
    parked: list[QueuedTicket] = field(default_factory=list)
    last: LastRating | None = None
    updated: str = ""

    @property
    def waiting_total(self) -> int:
        return sum(s.waiting for s in self.services if s.certified)


def window_panel(
    session: Session,
    window: Window,
    *,
    viewer: User,
    now: dt.datetime,
    settings: Settings,
    zone: dt.tzinfo,
) -> Panel:
    state = session.get(WindowState, window.id)
    status = state.status if state else WindowStatus.CLOSED.value
    clerk_id = state.clerk_id if state else None
    clerk = session.get(User, clerk_id) if clerk_id is not None else None
    if status == WindowStatus.PAUSED.value:
        why = reasons.PAUSE.get(state.pause_reason or "", "") if state else ""
        label = f"暂停服务（{why}）" if why else "暂停服务"
    elif status == WindowStatus.OPEN.value:
        label = "服务中"
    else:
        label = "未登录"
    panel = Panel(
        number=window.number,
        name=window.name,
        status=status,
        status_label=label,
        clerk=(clerk.display_name or clerk.username) if clerk else None,
        clerk_id=clerk_id,
        mine=clerk_id is not None and clerk_id == viewer.id,
        updated=now.astimezone(zone).strftime("%H:%M:%S"),
    )
    day = operating_day(now, settings.queue)
    services = {
        s.id: s
        for s in session.scalars(
            select(Service)
            .join(WindowService, WindowService.service_id == Service.id)
            .where(WindowService.window_id == window.id, Service.active.is_(True))
            .order_by(Service.prefix)
        )
    }
    certified = set(
        session.scalars(select(ClerkService.service_id).where(ClerkService.user_id == clerk_id))
        if clerk_id is not None
        else ()
    )
    counts = dict(
        session.execute(
            select(Ticket.service_id, func.count())
            .where(
                Ticket.service_id.in_(list(services)),
                Ticket.day == day,
                Ticket.state == TicketState.WAITING.value,
            )
            .group_by(Ticket.service_id)
        ).all()
    )
    panel.services = [
        ServiceLine(
            s.code, s.name, s.prefix, counts.get(sid, 0), clerk_id is None or sid in certified
        )
        for sid, s in services.items()
    ]
    if state is not None and state.current_ticket_id is not None:
        t = session.get(Ticket, state.current_ticket_id)
        if t is not None:
            panel.current = _current(t, services, now)
    panel.queue = _tickets(session, services, day, now, TicketState.WAITING, QUEUE_SHOWN)
    panel.parked = _tickets(session, services, day, now, TicketState.PARKED, QUEUE_SHOWN)
    panel.last = _last(session, window, day)
    return panel


def _current(t: Ticket, services: dict[int, Service], now: dt.datetime) -> CurrentTicket:
    called = t.called_at or now
    svc = services.get(t.service_id)
    return CurrentTicket(
        id=t.id,
        number=t.number,
        state=t.state,
        state_label=STATE_LABELS.get(TicketState(t.state), t.state),
        service=svc.name if svc else "",
        priority=PRIORITY_LABELS.get(t.priority),
        citizen=t.citizen_masked,
        waited_min=minutes((called - t.queued_at).total_seconds()),
        at_window=clock_text((now - called).total_seconds()),
        serving=clock_text((now - t.serving_at).total_seconds()) if t.serving_at else None,
        recalls=t.recalls,
    )


def _tickets(
    session: Session,
    services: dict[int, Service],
    day: dt.date,
    now: dt.datetime,
    state: TicketState,
    limit: int,
) -> list[QueuedTicket]:
    rows = session.scalars(
        select(Ticket)
        .where(
            Ticket.service_id.in_(list(services)), Ticket.day == day, Ticket.state == state.value
        )
        .order_by(Ticket.queued_at, Ticket.id)
        .limit(limit)
    )
    return [
        QueuedTicket(
            t.id,
            t.number,
            services[t.service_id].name,
            minutes((now - t.queued_at).total_seconds()),
            PRIORITY_LABELS.get(t.priority),
        )
        for t in rows
    ]


def _last(session: Session, window: Window, day: dt.date) -> LastRating | None:
    last = session.execute(
        select(Ticket.id, Ticket.number)
        .where(
            Ticket.day == day,
            Ticket.window_id == window.id,
            Ticket.state == TicketState.DONE.value,
        )
        .order_by(Ticket.ended_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return None
    level = session.scalar(select(Rating.level).where(Rating.ticket_id == last.id))
    return LastRating(last.number, codes.level_label(level) if level is not None else None)
