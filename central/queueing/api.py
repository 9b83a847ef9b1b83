"""REST API of the queue engine, under /api/v1/queue.

Thin on purpose: each handler turns the request into one call of the service
layer (`central.queueing.service`), which the MQTT callers use as well.
Refusals come back with a Chinese ``detail``: 404 unknown things, 409 an
illegal transition or a rule of the hall, 422 a missing reason code or bad
input, 403 a clerk acting on a window they are not signed in at.

Auth is the session cookie with the CSRF header, as for devices. Clerks,
managers and admins may use the window verbs; a clerk only at the window
they are signed in at. Issuing here is for staff-run channels (a clerk, a
help desk, a kiosk page in a signed-in browser); citizens' own mobile issuing
needs its own protection and comes later.

The handlers are ``async def`` on purpose: a verb is a short transaction
that runs on the worker's event loop, not in the thread pool (see
`central.queueing.txn`, "Where a verb runs").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from central.auth.models import Role
from central.auth.staffcache import Staff
from central.deps import CsrfChecked, StaffCall, staff_call
from central.queueing import service
from central.queueing.clock import operating_day
from central.queueing.errors import QueueError
from central.queueing.estimator import estimate_ticket
from central.queueing.models import Channel, Priority, Ticket, TicketState, WindowState
from central.queueing.service import Actor, Outcome
from central.queueing.states import STATE_LABELS

T = TypeVar("T")

router = APIRouter(prefix="/api/v1/queue", tags=["queue"], dependencies=[CsrfChecked])

# One dependency for the hub and the staff member (`staff_call`); each route
# opens its own session.
QueueCall = Annotated[StaffCall, Depends(staff_call(Role.ADMIN, Role.MANAGER, Role.CLERK))]

_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "不是本人登录的窗口"},
    404: {"description": "窗口、号票或业务不存在"},
    409: {"description": "当前状态不允许该操作，或大厅规则拒绝"},
    422: {"description": "缺少原因代码或输入有误"},
}


def _refusals(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except QueueError as exc:
        raise HTTPException(exc.http_status, exc.message) from exc


def _actor(user: Staff) -> Actor:
    return Actor(user_id=user.id, any_window=user.role_enum in (Role.ADMIN, Role.MANAGER))


# --- shapes -----------------------------------------------------------------------------


class TicketOut(BaseModel):
    id: int
    number: str
    service_id: int
    day: dt.date
    state: str
    state_label: str = Field(description="the state as people call it (Chinese)")
    priority: str
    channel: str
    citizen: str | None = Field(description="masked identity (张*三 138****1234)")
    issued_at: dt.datetime
    queued_at: dt.datetime
    appointment_at: dt.datetime | None
    window_id: int | None
    called_at: dt.datetime | None
    recalls: int
    serving_at: dt.datetime | None
    ended_at: dt.datetime | None
    outcome: str | None
    transferred_from_id: int | None
    citizen_path: str = Field(description="the citizen page (办事一码通) printed as a QR code")

    @classmethod
    def of(cls, t: Ticket) -> TicketOut:
        return cls(
            id=t.id,
            number=t.number,
            service_id=t.service_id,
            day=t.day,
            state=t.state,
            state_label=STATE_LABELS[TicketState(t.state)],
            priority=t.priority,
            channel=t.channel,
            citizen=t.citizen_masked,
            issued_at=t.issued_at,
            queued_at=t.queued_at,
            appointment_at=t.appointment_at,
            window_id=t.window_id,
            called_at=t.called_at,
            citizen_path=f"/t/{t.token}",
            recalls=t.recalls,
            serving_at=t.serving_at,
            ended_at=t.ended_at,
            outcome=t.outcome,
            transferred_from_id=t.transferred_from_id,
        )


class WindowOut(BaseModel):
    window_id: int
    status: str
    clerk_id: int | None
    pause_reason: str | None
    current_ticket_id: int | None

    @classmethod
    def of(cls, w: WindowState) -> WindowOut:
        return cls(
            window_id=w.window_id,
            status=w.status,
            clerk_id=w.clerk_id,
            pause_reason=w.pause_reason,
            current_ticket_id=w.current_ticket_id,
        )


class VerbOut(BaseModel):
    window: WindowOut
    ticket: TicketOut | None
    follow_up: TicketOut | None = Field(None, description="the ticket a transfer created")
    why: dict[str, Any] | None = Field(None, description="why call-next picked this ticket")
    message: str

    @classmethod
    def of(cls, o: Outcome, message: str) -> VerbOut:
        return cls(
            window=WindowOut.of(o.window),
            ticket=TicketOut.of(o.ticket) if o.ticket else None,
            follow_up=TicketOut.of(o.follow_up) if o.follow_up else None,
            why=o.why,
            message=message,
        )


class IssuedOut(TicketOut):
    ahead: int = Field(description="people ahead at issue")
    estimated_wait_min: float | None = Field(
        description="estimated wait at issue, in minutes (printed rounded); None: no open window"
    )


class TimelineEntry(BaseModel):
    at: dt.datetime
    verb: str
    from_state: str | None
    to_state: str
    window_id: int | None
    clerk_id: int | None
    reason: str | None
    detail: dict[str, Any]


class TicketDetail(TicketOut):
    timeline: list[TimelineEntry]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueIn(Strict):
    service: str = Field(description="service code")
    channel: Channel = Channel.KIOSK
    priority: Priority = Priority.NORMAL
    priority_reason: str | None = Field(None, description="needed for green and vip")
    citizen_id: str | None = Field(None, description="ID card or mobile number; stored masked")
    phone: str | None = Field(None, description="mobile number for SMS reminders; encrypted")
    citizen_name: str | None = Field(None, max_length=16)
    appointment_at: dt.datetime | None = None


class LoginIn(Strict):
    clerk_id: int | None = Field(None, description="who signs in; yourself when omitted")


class ReasonIn(Strict):
    reason: str | None = Field(None, description="reason code (see central.queueing.reasons)")


class NextIn(Strict):
    finish_current: str | None = Field(None, description="outcome code: finish, then call")


class FinishIn(Strict):
    outcome: str = Field(description="outcome code, e.g. completed")


class TransferIn(Strict):
    service: str = Field(description="target service code")
    reason: str | None = None
    return_after: bool = Field(False, description="come back to this service when done")


class ParkIn(Strict):
    reason: str | None = None
    ticket_id: int | None = Field(None, description="a waiting ticket; the window's when omitted")


# --- tickets ----------------------------------------------------------------------------


@router.post("/tickets", status_code=201, responses=_REFUSALS)
async def issue_ticket(body: IssueIn, call: QueueCall) -> IssuedOut:
    state = call.state
    now = state.clock.now()
    with state.sessions() as db:
        ticket = _refusals(
            lambda: service.issue(
                db,
                service=body.service,
                channel=body.channel,
                priority=body.priority,
                priority_reason=body.priority_reason,
                citizen_id=body.citizen_id,
                phone=body.phone,
                citizen_name=body.citizen_name,
                appointment_at=body.appointment_at,
                clerk_id=call.user.id,
                bus=state.queue_bus,
                settings=state.settings,
                now=now,
            )
        )
    # A read after the verb's commit: in autocommit on PostgreSQL, where the
    # verb's session would end it with a ROLLBACK, and psycopg forgets the
    # connection's prepared statements at every ROLLBACK.
    with state.read_sessions() as reads:
        estimate = estimate_ticket(reads, ticket, now=now, recent=True)
        return IssuedOut(
            **TicketOut.of(ticket).model_dump(),
            ahead=estimate.ahead,
            estimated_wait_min=None if estimate.minutes is None else round(estimate.minutes, 2),
        )


@router.get("/tickets/{ticket_id}", responses=_REFUSALS)
async def get_ticket(ticket_id: int, call: QueueCall) -> TicketDetail:
    with call.state.sessions() as db:
        ticket = _refusals(lambda: service.get_ticket(db, ticket_id))
        events = [
            TimelineEntry(
                at=e.at,
                verb=e.verb,
                from_state=e.from_state,
                to_state=e.to_state,
                window_id=e.window_id,
                clerk_id=e.clerk_id,
                reason=e.reason,
                detail=e.detail,
            )
            for e in service.timeline(db, ticket_id)
        ]
        return TicketDetail(**TicketOut.of(ticket).model_dump(), timeline=events)


@router.post("/tickets/{ticket_id}/cancel", responses=_REFUSALS)
async def cancel_ticket(ticket_id: int, body: ReasonIn, call: QueueCall) -> TicketOut:
    state = call.state
    with state.sessions() as db:
        ticket = _refusals(
            lambda: service.cancel(
                db,
                ticket_id=ticket_id,
                reason=body.reason,
                actor=_actor(call.user),
                bus=state.queue_bus,
                settings=state.settings,
                now=state.clock.now(),
            )
        )
        return TicketOut.of(ticket)


@router.get("/services/{code}/waiting", responses=_REFUSALS)
async def waiting_list(code: str, call: QueueCall) -> list[TicketOut]:
    day = operating_day(call.state.clock.now(), call.state.settings.queue)
    with call.state.sessions() as db:
        svc = _refusals(lambda: service.service_by_code(db, code))
        return [TicketOut.of(t) for t in service.waiting(db, service_id=svc.id, day=day)]


# --- window verbs -----------------------------------------------------------------------


def _window(
    call: StaffCall,
    verb: Callable[..., Outcome],
    number: int,
    message: Callable[[Outcome], str],
    **kw: Any,
) -> VerbOut:
    state = call.state
    with state.sessions() as db:
        outcome = _refusals(
            lambda: verb(
                db,
                window=number,
                actor=_actor(call.user),
                bus=state.queue_bus,
                settings=state.settings,
                now=state.clock.now(),
                **kw,
            )
        )
        return VerbOut.of(outcome, message(outcome))


def _says(text: str) -> Callable[[Outcome], str]:
    return lambda o: text.format(number=o.ticket.number if o.ticket else "")


@router.post("/windows/{number}/login", responses=_REFUSALS)
async def login(number: int, body: LoginIn, call: QueueCall) -> VerbOut:
    clerk = body.clerk_id if body.clerk_id is not None else call.user.id
    return _window(call, service.login, number, _says("已登录"), clerk_id=clerk)


@router.post("/windows/{number}/logout", responses=_REFUSALS)
async def logout(number: int, call: QueueCall) -> VerbOut:
    return _window(call, service.logout, number, _says("已退出"))


@router.post("/windows/{number}/pause", responses=_REFUSALS)
async def pause(number: int, body: ReasonIn, call: QueueCall) -> VerbOut:
    return _window(call, service.pause, number, _says("已暂停服务"), reason=body.reason)


@router.post("/windows/{number}/resume", responses=_REFUSALS)
async def resume(number: int, call: QueueCall) -> VerbOut:
    return _window(call, service.resume, number, _says("已恢复服务"))


@router.post("/windows/{number}/next", responses=_REFUSALS)
async def call_next(number: int, call: QueueCall, body: NextIn | None = None) -> VerbOut:
    def said(o: Outcome) -> str:
        return f"请 {o.ticket.number} 号到 {number} 号窗口" if o.ticket else "当前没有等候的群众"

    finish = body.finish_current if body else None
    return _window(call, service.call_next, number, said, finish_current=finish)


@router.post("/windows/{number}/call/{ticket_id}", responses=_REFUSALS)
async def call_specific(
    number: int, ticket_id: int, call: QueueCall, body: ReasonIn | None = None
) -> VerbOut:
    return _window(
        call,
        service.call_specific,
        number,
        _says("请 {number} 号到窗口办理"),
        ticket_id=ticket_id,
        reason=body.reason if body else None,
    )


@router.post("/windows/{number}/recall", responses=_REFUSALS)
async def recall(number: int, call: QueueCall) -> VerbOut:
    return _window(call, service.recall, number, _says("已重呼 {number}"))


@router.post("/windows/{number}/start", responses=_REFUSALS)
async def start(number: int, call: QueueCall) -> VerbOut:
    return _window(call, service.start, number, _says("开始办理 {number}"))


@router.post("/windows/{number}/finish", responses=_REFUSALS)
async def finish(number: int, body: FinishIn, call: QueueCall) -> VerbOut:
    return _window(call, service.finish, number, _says("{number} 已办结"), outcome=body.outcome)


@router.post("/windows/{number}/transfer", responses=_REFUSALS)
async def transfer(number: int, body: TransferIn, call: QueueCall) -> VerbOut:
    def said(o: Outcome) -> str:
        new = o.follow_up.number if o.follow_up else ""
        return f"{o.ticket.number if o.ticket else ''} 已转办，新号码 {new}"

    return _window(
        call,
        service.transfer,
        number,
        said,
        to_service=body.service,
        reason=body.reason,
        return_after=body.return_after,
    )


@router.post("/windows/{number}/park", responses=_REFUSALS)
async def park(number: int, body: ParkIn, call: QueueCall) -> VerbOut:
    return _window(
        call,
        service.park,
        number,
        _says("{number} 已暂挂"),
        reason=body.reason,
        ticket_id=body.ticket_id,
    )


@router.post("/windows/{number}/unpark/{ticket_id}", responses=_REFUSALS)
async def unpark(number: int, ticket_id: int, call: QueueCall) -> VerbOut:
    return _window(call, service.unpark, number, _says("{number} 已恢复等候"), ticket_id=ticket_id)


@router.post("/windows/{number}/no-show", responses=_REFUSALS)
async def no_show(number: int, call: QueueCall, body: ReasonIn | None = None) -> VerbOut:
    return _window(
        call,
        service.no_show,
        number,
        _says("{number} 已过号"),
        reason=body.reason if body else None,
    )
