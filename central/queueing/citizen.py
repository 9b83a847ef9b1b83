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


def _chain(session: Session, ticket: Ticket) -> list[Ticket]:
    """The ticket and those it was transferred from, oldest first."""
    chain = [ticket]
    while chain[-1].transferred_from_id is not None and len(chain) < MAX_CHAIN:
        before = session.get(Ticket, chain[-1].transferred_from_id)
        if before is None:
            break
        chain.append(before)
    return chain[::-1]


def _step_text(e: TicketEvent, number: str, windows: dict[int, int]) -> str:
    text = _STEP_LABELS.get(e.verb) or _TO_STATE_LABELS.get(
        e.to_state, STATE_LABELS.get(e.to_state, e.verb)
    )
    if e.to_state == TicketState.CALLED.value and e.window_id in windows:
        text += f"，请到 {windows[e.window_id]} 号窗口"
    elif e.to_state == TicketState.SERVING.value and e.window_id in windows:
        text += f"（{windows[e.window_id]} 号窗口）"
    return f"{number} {text}"


@dataclass(frozen=True)
class Found:
    """A ticket found by its token, with what its page shows beside it."""

    ticket: Ticket
    service: Service
    window: Window | None
    contact: TicketContact | None


def status_context(
    session: Session, found: Found, *, zone: dt.tzinfo, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Everything the page shows about a ticket; personal data only masked."""
    now = now or utcnow()
    ticket, service, window = found.ticket, found.service, found.window
    chain = _chain(session, ticket)
    rows = session.execute(_TIMELINE, {"ids": [t.id for t in chain]}).all()
    events = [e for e, _ in rows]
    windows = {e.window_id: n for e, n in rows if e.window_id is not None and n is not None}
    numbers = {t.id: t.number for t in chain}
    steps = [
        Step(e.at.astimezone(zone).strftime("%H:%M"), _step_text(e, numbers[e.ticket_id], windows))
        for e in events
    ]
    if steps:
        steps[-1] = Step(steps[-1].at, steps[-1].text, current=True)
    # The phone stays with the first ticket of a transfer chain.
    contact = next(
        (
            c
            for t in chain
            if (c := found.contact if t is ticket else session.get(TicketContact, t.id))
        ),
        None,
    )
    # The hall's loads of the last second: the page refreshes every few seconds.
    estimate = estimate_ticket(session, ticket, now=now, recent=True)
    state = ticket.state
    headline = STATE_LABELS.get(state, state)
    hint = ""
    if state == TicketState.CALLED.value and window is not None:
        headline = f"已叫号，请到 {window.number} 号窗口"
        named = "" if window.name == f"{window.number}号窗口" else f"（{window.name}）"
        hint = f"请携带好材料尽快前往{named}。"
    elif state == TicketState.SERVING.value and window is not None:
        headline = f"办理中（{window.number} 号窗口）"
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
        "service": service.name,
        "state": state,
        "headline": headline,
        "hint": hint,
        "waiting": state == TicketState.WAITING.value,
        "ahead": estimate.ahead,
        "minutes": estimate.shown_minutes,
        "final": state in FINAL_STATES,
        "transferred_from": chain[-2].number if len(chain) > 1 else None,
        "citizen": ticket.citizen_masked,
        "phone": contact.phone_masked if contact else None,
        "issued": ticket.issued_at.astimezone(zone).strftime("%m月%d日 %H:%M"),
        "updated": now.astimezone(zone).strftime("%H:%M:%S"),
        "steps": steps,
        "poll_s": POLL_S,
    }


# Built once: every phone in the hall polls its ticket's status, the hub's
# most frequent request. The ticket comes with its service, window and
# contact, and the timeline with its windows' numbers: two statements for
# most tickets.
_BY_TOKEN = (
    select(Ticket, Service, Window, TicketContact)
    .join(Service, Service.id == Ticket.service_id)
    .outerjoin(Window, Window.id == Ticket.window_id)
    .outerjoin(TicketContact, TicketContact.ticket_id == Ticket.id)
    .where(Ticket.token == bindparam("token"))
)
_TIMELINE = (
    select(TicketEvent, Window.number)
    .outerjoin(Window, Window.id == TicketEvent.window_id)
    .where(TicketEvent.ticket_id.in_(bindparam("ids", expanding=True)))
    .order_by(TicketEvent.at, TicketEvent.id)
)


def find_ticket(session: Session, token: str) -> Found | None:
    if not 8 <= len(token) <= 32:
        return None
    row = session.execute(_BY_TOKEN, {"token": token}).first()
    return None if row is None else Found(row[0], row[1], row[2], row[3])


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
