"""The window workstation (窗口工作台): the clerk's PC at a window.

``/workstation`` picks the window (a clerk signed in at one goes straight
there); ``/workstation/{n}`` shows it and polls ``/workstation/{n}/panel``
every `POLL_S` seconds, so what a caller box or another screen did at the
same window shows within that time. ``POST /workstation/{n}/act/{verb}``
runs one verb through the queue's service layer — the functions the REST
API and the caller boxes call — and answers with the fresh panel and a
message (the refusal's Chinese reason when the engine said no). Function
keys: `central.workstation.keys`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.auth.models import ROLE_LABELS, Role, User
from central.deps import CsrfChecked, SessionDep, csrf_token, require_roles
from central.queueing import reasons, service
from central.queueing.clock import operating_day
from central.queueing.errors import NotFound, QueueError
from central.queueing.models import Service, Ticket, Window, WindowState
from central.queueing.period import hall_zone
from central.queueing.service import Actor, Outcome
from central.state import HubState, StateDep
from central.workstation.keys import KEYS
from central.workstation.panel import window_panel

router = APIRouter(tags=["pages"], dependencies=[CsrfChecked])

WindowStaff = Annotated[User, Depends(require_roles(Role.ADMIN, Role.MANAGER, Role.CLERK))]
POLL_S: Final = 2


def _window(db: Session, number: int) -> Window | None:
    return db.scalar(select(Window).where(Window.number == number, Window.active.is_(True)))


def _context(request: Request, state: HubState, user: User, **ctx: Any) -> dict[str, Any]:
    return {
        "user": user,
        "role_label": ROLE_LABELS[user.role_enum],
        "csrf": csrf_token(request),
        "hall_name": state.settings.hall_name,
        "poll_s": POLL_S,
        **ctx,
    }


def _panel(
    request: Request, db: Session, state: HubState, user: User, win: Window, **ctx: Any
) -> HTMLResponse:
    db.rollback()  # a verb may have run: read the state after it
    panel = window_panel(
        db, win, viewer=user, now=state.clock.now(), settings=state.settings,
        zone=hall_zone(state.settings.hub.display_timezone),
    )  # fmt: skip
    return state.templates.TemplateResponse(
        request, "workstation/_panel.html", _context(request, state, user, panel=panel, **ctx)
    )


@router.get("/workstation", response_class=HTMLResponse)
def choose(request: Request, db: SessionDep, state: StateDep, user: WindowStaff) -> Response:
    mine = db.scalar(
        select(Window.number)
        .join(WindowState, WindowState.window_id == Window.id)
        .where(WindowState.clerk_id == user.id)
    )
    if mine is not None and user.role_enum == Role.CLERK:
        return RedirectResponse(f"/workstation/{mine}", status.HTTP_303_SEE_OTHER)
    rows = db.execute(
        select(Window, WindowState)
        .outerjoin(WindowState, WindowState.window_id == Window.id)
        .where(Window.active.is_(True))
        .order_by(Window.number)
    ).all()
    clerks = {u.id: u.display_name or u.username for u in db.scalars(select(User))}
    windows = [
        {
            "number": w.number,
            "name": w.name,
            "status": s.status if s else "closed",
            "clerk": clerks.get(s.clerk_id) if s and s.clerk_id else None,
        }
        for w, s in rows
    ]
    return state.templates.TemplateResponse(
        request, "workstation/choose.html", _context(request, state, user, windows=windows)
    )


@router.get("/workstation/{number}", response_class=HTMLResponse)
def page(
    number: int, request: Request, db: SessionDep, state: StateDep, user: WindowStaff
) -> Response:
    win = _window(db, number)
    if win is None:
        return state.templates.TemplateResponse(
            request, "error.html", {"title": "没有该窗口", "text": f"大厅没有 {number} 号窗口。"},
            status_code=404,
        )  # fmt: skip
    panel = window_panel(
        db, win, viewer=user, now=state.clock.now(), settings=state.settings,
        zone=hall_zone(state.settings.hub.display_timezone),
    )  # fmt: skip
    services = list(db.scalars(select(Service).where(Service.active).order_by(Service.prefix)))
    ctx = _context(
        request, state, user, panel=panel, keys=KEYS, services=services,
        outcomes=reasons.OUTCOMES, transfer_reasons=reasons.TRANSFER_BY_CLERK,
        park_reasons=reasons.PARK,
        noshow_reasons=reasons.NO_SHOW, call_reasons=reasons.OUT_OF_ORDER,
        pause_reasons=reasons.PAUSE, message=None,
    )  # fmt: skip
    return state.templates.TemplateResponse(request, "workstation/page.html", ctx)


@router.get("/workstation/{number}/panel", response_class=HTMLResponse)
def panel(
    number: int, request: Request, db: SessionDep, state: StateDep, user: WindowStaff
) -> Response:
    win = _window(db, number)
    if win is None:
        return Response(status_code=404)
    return _panel(request, db, state, user, win)


def _ticket_by_number(db: Session, text: str, now: dt.datetime, state: HubState) -> int:
    number = text.strip().upper()
    if not number:
        raise NotFound("请输入要指定叫号的号码，例如 A012")
    day = operating_day(now, state.settings.queue)
    found = db.scalar(select(Ticket.id).where(Ticket.day == day, Ticket.number == number))
    db.rollback()  # the verb opens its own write transaction
    if found is None:
        raise NotFound(f"今天没有号码 {number}")
    return found


def _said(o: Outcome, text: str) -> str:
    return text.format(number=o.ticket.number if o.ticket else "")


def _act(
    verb: str, number: int, user: User, db: Session, state: HubState, f: dict[str, str]
) -> tuple[bool, str]:
    """Run one verb through the service layer; (accepted, message)."""
    now = state.clock.now()
    kw: dict[str, Any] = {
        "window": number,
        "actor": Actor(user_id=user.id, any_window=user.role_enum in (Role.ADMIN, Role.MANAGER)),
        "bus": state.queue_bus,
        "settings": state.settings,
        "now": now,
    }
    db.rollback()  # end the sign-in check's read; each verb begins its own transaction
    if verb == "next":
        o = service.call_next(db, **kw)
        if o.ticket is None:
            return False, "当前没有等候的群众"
        return True, f"请 {o.ticket.number} 号到 {number} 号窗口"
    if verb == "recall":
        return True, _said(service.recall(db, **kw), "已重呼 {number}")
    if verb == "start":
        return True, _said(service.start(db, **kw), "开始办理 {number}")
    if verb == "finish":
        label = reasons.OUTCOMES.get(f["outcome"], f["outcome"])
        o = service.finish(db, outcome=f["outcome"], **kw)
        return True, _said(o, "{number} 已办结（" + label + "），请群众评价")
    if verb == "transfer":
        o = service.transfer(
            db, to_service=f["transfer_service"], reason=f["transfer_reason"] or None,
            return_after=f["transfer_return"] == "1", **kw,
        )  # fmt: skip
        new = o.follow_up.number if o.follow_up else ""
        return True, _said(o, "{number} 已转办，新号码 " + new)
    if verb == "park":
        o = service.park(db, reason=f["park_reason"] or None, **kw)
        return True, _said(o, "{number} 已暂挂")
    if verb == "no_show":
        o = service.no_show(db, reason=f["noshow_reason"] or None, **kw)
        return True, _said(o, "{number} 已过号")
    if verb == "call":
        tid = int(f["ticket_id"]) if f["ticket_id"].isdigit() else None
        if tid is None:
            tid = _ticket_by_number(db, f["call_number"], now, state)
        o = service.call_specific(db, ticket_id=tid, reason=f["call_reason"] or None, **kw)
        return True, _said(o, "请 {number} 号到 " + str(number) + " 号窗口")
    if verb == "unpark":
        tid = int(f["ticket_id"]) if f["ticket_id"].isdigit() else -1
        return True, _said(service.unpark(db, ticket_id=tid, **kw), "{number} 已恢复等候")
    if verb == "pause":
        service.pause(db, reason=f["pause_reason"] or None, **kw)
        return True, "已暂停服务"
    if verb == "resume":
        service.resume(db, **kw)
        return True, "已恢复服务"
    if verb == "login":
        service.login(db, clerk_id=user.id, **kw)
        return True, f"已在 {number} 号窗口签到"
    if verb == "logout":
        service.logout(db, **kw)
        return True, f"已从 {number} 号窗口签退"
    raise NotFound(f"未知操作 {verb}")


FormText = Annotated[str, Form(max_length=64)]


@router.post("/workstation/{number}/act/{verb}", response_class=HTMLResponse)
async def act(  # a verb runs on the loop: see `central.queueing.txn`, "Where a verb runs"
    number: int,
    verb: str,
    request: Request,
    db: SessionDep,
    state: StateDep,
    user: WindowStaff,
    outcome: FormText = "completed",
    transfer_service: FormText = "",
    transfer_reason: FormText = "",
    transfer_return: FormText = "",
    park_reason: FormText = "",
    noshow_reason: FormText = "",
    call_number: FormText = "",
    call_reason: FormText = "",
    pause_reason: FormText = "",
    ticket_id: FormText = "",
) -> Response:
    win = _window(db, number)
    if win is None:
        return Response(f"没有 {number} 号窗口", status_code=404)
    fields = {
        "outcome": outcome, "transfer_service": transfer_service,
        "transfer_reason": transfer_reason, "transfer_return": transfer_return,
        "park_reason": park_reason, "noshow_reason": noshow_reason, "call_number": call_number,
        "call_reason": call_reason, "pause_reason": pause_reason, "ticket_id": ticket_id,
    }  # fmt: skip
    try:
        ok, text = _act(verb, number, user, db, state, fields)
    except QueueError as exc:
        ok, text = False, exc.message
    return _panel(request, db, state, user, win, message={"ok": ok, "text": text, "verb": verb})
