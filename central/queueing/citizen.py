"""办事一码通: the citizen's page behind the QR code printed on the ticket.

``GET /t/{token}`` needs no sign-in: the token (128 random bits) is the
credential, so the page shows nothing a finder of the ticket should not see
(personal data only masked) and tells robots and referrers nothing. The
status part polls ``/t/{token}/status`` every few seconds with htmx and stops
once the ticket is finished. A transfer moves the token to the new ticket, so
the same QR code follows the citizen; the timeline shows both tickets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from broker.contract import utcnow
from central.direct import Direct
from central.queueing.estimator import estimate_ticket
from central.queueing.models import (
    FINAL_STATES,
    Service,
    Ticket,
    TicketContact,
    TicketEvent,
    TicketState,
    Window,
)
from central.state import HubState, StateDep

router = APIRouter(tags=["citizen"])

POLL_S: Final = 5
MAX_CHAIN: Final = 10
_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}

STATE_LABELS: Final = {
    TicketState.WAITING.value: "等候中",
    TicketState.CALLED.value: "已叫号",
    TicketState.SERVING.value: "办理中",
    TicketState.PARKED.value: "暂缓等候",
    TicketState.DONE.value: "已完成",
    TicketState.NO_SHOW.value: "已过号",
    TicketState.TRANSFERRED.value: "已转办",
    TicketState.CANCELLED.value: "已取消",
    TicketState.EXPIRED.value: "已失效",
}

# Timeline wording by where a step led (robust to new verb names).
_STEP_LABELS: Final = {
    "issue": "取号",
    "call": "叫号",
    "call_specific": "叫号",
    "recall": "再次叫号",
    "start": "开始办理",
    "finish": "办理完成",
    "no_show": "过号",
    "park": "暂缓等候",
    "unpark": "恢复排队",
    "transfer": "转至其他业务",
    "cancel": "已取消",
    "expire": "当日未办理，号码失效",
}
_TO_STATE_LABELS: Final = {
    TicketState.WAITING.value: "排队等候",
    TicketState.CALLED.value: "叫号",
    TicketState.SERVING.value: "开始办理",
    TicketState.DONE.value: "办理完成",
}


@dataclass(frozen=True)
class Step:
    at: str
    text: str
    current: bool = False


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return dt.timezone(dt.timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class Seen:
    """What the page shows of a ticket, and what its estimate reads
    (`estimator.Queued`): a row, not an ORM object (see `_BY_TOKEN`)."""

    id: int
    day: dt.date
    service_id: int
    number: str
    state: str
    priority: str
    queued_at: dt.datetime
    issued_at: dt.datetime
    citizen_masked: str | None
    transferred_from_id: int | None


@dataclass(frozen=True, slots=True)
class Found:
    """A ticket found by its token, with what its page shows beside it."""

    ticket: Seen
    service_name: str
    window_number: int | None
    window_name: str | None
    phone_masked: str | None


@dataclass(frozen=True, slots=True)
class _Link:
    """A ticket of a transfer chain: the one found, or one it came from."""

    id: int
    number: str
    transferred_from_id: int | None
    phone_masked: str | None


def _chain(session: Session, found: Found) -> list[_Link]:
    """The ticket and those it was transferred from, oldest first."""
    t = found.ticket
    chain = [_Link(t.id, t.number, t.transferred_from_id, found.phone_masked)]
    while (before := chain[-1].transferred_from_id) is not None and len(chain) < MAX_CHAIN:
        rows = _LINK.rows(session.connection(), {"id": before})
        if not rows:
            break
        chain.append(_Link(*rows[0]))
    return chain[::-1]


def _step_text(verb: str, to_state: str, window: int | None, number: str) -> str:
    text = _STEP_LABELS.get(verb) or _TO_STATE_LABELS.get(
        to_state, STATE_LABELS.get(to_state, verb)
    )
    if to_state == TicketState.CALLED.value and window is not None:
        text += f"，请到 {window} 号窗口"
    elif to_state == TicketState.SERVING.value and window is not None:
        text += f"（{window} 号窗口）"
    return f"{number} {text}"


def status_context(
    session: Session, found: Found, *, zone: dt.tzinfo, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Everything the page shows about a ticket; personal data only masked."""
    now = now or utcnow()
    ticket = found.ticket
    chain = _chain(session, found)
    connection = session.connection()
    events = sorted(
        (row for link in chain for row in _TIMELINE.rows(connection, {"ticket": link.id})),
        key=lambda row: (row[1], row[0]),  # (at, id)
    )
    numbers = {link.id: link.number for link in chain}
    steps = [
        Step(at.astimezone(zone).strftime("%H:%M"), _step_text(verb, to, window, numbers[tid]))
        for _, at, tid, verb, to, window in events
    ]
    if steps:
        steps[-1] = Step(steps[-1].at, steps[-1].text, current=True)
    # The phone stays with the first ticket of a transfer chain.
    phone = next((link.phone_masked for link in chain if link.phone_masked), None)
    # The hall's loads of the last second: the page refreshes every few seconds.
    estimate = estimate_ticket(session, ticket, now=now, recent=True)
    state = ticket.state
    headline = STATE_LABELS.get(state, state)
    hint = ""
    number, name = found.window_number, found.window_name
    if state == TicketState.CALLED.value and number is not None:
        headline = f"已叫号，请到 {number} 号窗口"
        named = "" if name == f"{number}号窗口" else f"（{name}）"
        hint = f"请携带好材料尽快前往{named}。"
    elif state == TicketState.SERVING.value and number is not None:
        headline = f"办理中（{number} 号窗口）"
    elif state == TicketState.NO_SHOW.value:
        hint = "多次叫号未到，号码已过号。请到取号机或咨询台重新取号。"
    elif state == TicketState.PARKED.value:
        hint = "您的号码暂缓等候，请留意工作人员通知。"
    elif state == TicketState.WAITING.value:
        hint = "请留意大厅显示屏和语音叫号；本页会自动刷新。"
    elif state == TicketState.EXPIRED.value:
        hint = "本号码当日未办理，已失效。"
    return {
        "number": ticket.number,
        "service": found.service_name,
        "state": state,
        "headline": headline,
        "hint": hint,
        "waiting": state == TicketState.WAITING.value,
        "ahead": estimate.ahead,
        "minutes": estimate.shown_minutes,
        "final": state in FINAL_STATES,
        "transferred_from": chain[-2].number if len(chain) > 1 else None,
        "citizen": ticket.citizen_masked,
        "phone": phone,
        "issued": ticket.issued_at.astimezone(zone).strftime("%m月%d日 %H:%M"),
        "updated": now.astimezone(zone).strftime("%H:%M:%S"),
        "steps": steps,
        "poll_s": POLL_S,
    }


# Built once and run on the driver's cursor (`central.direct`): every phone
# in the hall polls its ticket's status, the hub's most frequent request.
# The ticket comes as a row with its service's name, its window and its
# contact's masked phone, and the timeline with its windows' numbers: two
# statements for most tickets, and no ORM object (building them cost more
# than the statements).
_SEEN = (
    Ticket.id, Ticket.day, Ticket.service_id, Ticket.number, Ticket.state, Ticket.priority,
    Ticket.queued_at, Ticket.issued_at, Ticket.citizen_masked, Ticket.transferred_from_id,
)  # fmt: skip
_BY_TOKEN = Direct(
    select(*_SEEN, Service.name, Window.number, Window.name, TicketContact.phone_masked)
    .join(Service, Service.id == Ticket.service_id)
    .outerjoin(Window, Window.id == Ticket.window_id)
    .outerjoin(TicketContact, TicketContact.ticket_id == Ticket.id)
    .where(Ticket.token == bindparam("token"))
)
_LINK = Direct(
    select(Ticket.id, Ticket.number, Ticket.transferred_from_id, TicketContact.phone_masked)
    .outerjoin(TicketContact, TicketContact.ticket_id == Ticket.id)
    .where(Ticket.id == bindparam("id"))
)
_EVENT = (
    TicketEvent.id, TicketEvent.at, TicketEvent.ticket_id, TicketEvent.verb, TicketEvent.to_state,
    Window.number,
)  # fmt: skip
_TIMELINE = Direct(
    select(*_EVENT)
    .outerjoin(Window, Window.id == TicketEvent.window_id)
    .where(TicketEvent.ticket_id == bindparam("ticket"))
)


def find_ticket(session: Session, token: str) -> Found | None:
    if not 8 <= len(token) <= 32:
        return None
    rows = _BY_TOKEN.rows(session.connection(), {"token": token})
    if not rows:
        return None
    row = rows[0]
    n = len(_SEEN)
    return Found(Seen(*row[:n]), *row[n:])


def _not_found(request: Request, state: StateDep) -> Response:
    return state.templates.TemplateResponse(
        request,
        "citizen/not_found.html",
        {"hall_name": state.settings.hall_name},
        status_code=404,
        headers=_HEADERS,
    )


# The pages open their session themselves rather than take it as a
# dependency: FastAPI spends about 40 µs on a ``yield`` dependency in each
# request, and every phone in the hall polls the status.
def _ticket_page(
    request: Request, state: HubState, token: str, template: str, **shown: Any
) -> Response:
    with state.read_sessions() as db:
        found = find_ticket(db, token)
        if found is None:
            return _not_found(request, state)
        ctx = status_context(
            db, found, zone=_zone(state.settings.hub.display_timezone), now=state.clock.now()
        )
    ctx.update(token=token, **shown)
    return state.templates.TemplateResponse(request, template, ctx, headers=_HEADERS)


@router.get("/t/{token}", response_class=HTMLResponse, include_in_schema=False)
async def citizen_page(token: str, request: Request, state: StateDep) -> Response:
    return _ticket_page(
        request, state, token, "citizen/page.html", hall_name=state.settings.hall_name
    )


@router.get("/t/{token}/status", response_class=HTMLResponse, include_in_schema=False)
async def citizen_status(token: str, request: Request, state: StateDep) -> Response:
    return _ticket_page(request, state, token, "citizen/_status.html")
