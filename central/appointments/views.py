"""Appointment pages: the citizen's booking form and booking page (no sign-in,
no script needed), and the staff's 预约管理 day view.

    GET  /book                  choose service and day, then a slot; name, phone, ID
    POST /book                  book → 303 to /book/{code}, or the form with the reason
    GET  /book/{code}           the booking: QR code (its content is this page's URL)
    POST /book/{code}/cancel    cancel
    GET  /appointments          预约管理: the day's bookings per service (staff)
    POST /appointments/{code}/checkin   staff check-in → the ticket number

Personal data is masked on every page; citizen pages are ``no-store``,
``no-referrer`` and ``noindex`` like the ticket page.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from central.appointments import service
from central.appointments.api import STATE_LABELS, book_limited, check_in_now, slot_text
from central.appointments.models import Appointment
from central.auth.models import User
from central.deps import CsrfChecked, CurrentUser, SessionDep
from central.guidance.qr import qr_svg
from central.queueing.clock import local_time, operating_day
from central.queueing.errors import QueueError
from central.queueing.models import Service, Ticket
from central.queueing.views import render
from central.state import HubState, StateDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["appointments"], include_in_schema=False)
staff_router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[CsrfChecked])

_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
_WEEKDAYS: Final = "一二三四五六日"
_FLASH: Final = "appointments_flash"


def _day_label(day: dt.date, today: dt.date) -> str:
    near = {0: "今天", 1: "明天", 2: "后天"}.get((day - today).days)
    text = f"{day.month}月{day.day}日 周{_WEEKDAYS[day.weekday()]}"
    return f"{text}（{near}）" if near else text


def _base_url(request: Request, state: HubState) -> str:
    return (state.settings.hub.public_url or str(request.base_url)).rstrip("/")


def _form(
    request: Request, state: HubState, db: Session, *, service_code: str = "", day: str = "",
    error: str = "", values: dict[str, str] | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    now = state.clock.now()
    today = operating_day(now, state.settings.queue)
    services = [
        s
        for s in db.scalars(select(Service).where(Service.active.is_(True)).order_by(Service.id))
        if service.capacity_of(state.settings, s.code) > 0
    ]
    days = service.bookable_days(state.settings, now)
    chosen_day = next((d for d in days if d.isoformat() == day), None)
    chosen = next((s for s in services if s.code == service_code), None)
    slots: list[service.Slot] = []
    if chosen is not None and chosen_day is not None:
        slots = service.slots(
            db, service_code=chosen.code, day=chosen_day, settings=state.settings, now=now
        )
    return state.templates.TemplateResponse(
        request,
        "appointments/book.html",
        {
            "hall_name": state.settings.hall_name,
            "services": services,
            "days": [(d.isoformat(), _day_label(d, today)) for d in days],
            "service_code": chosen.code if chosen else "",
            "service_name": chosen.name if chosen else "",
            "day": chosen_day.isoformat() if chosen_day else "",
            "slots": slots,
            "error": error,
            "values": values or {},
            "enabled": state.settings.appointments.enabled,
        },
        status_code=status_code,
        headers=_HEADERS,
    )


@router.get("/book", response_class=HTMLResponse)
def book_page(
    request: Request, db: SessionDep, state: StateDep, service_code: str = "", day: str = ""
) -> HTMLResponse:
    code = request.query_params.get("service", service_code)
    return _form(request, state, db, service_code=code, day=day)


@router.post("/book", response_class=HTMLResponse)
async def book_submit(
    request: Request,
    db: SessionDep,
    state: StateDep,
    service_code: Annotated[str, Form(alias="service", max_length=32)],
    day: Annotated[str, Form(max_length=10)] = "",
    slot: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    id_number: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    values = {"name": name, "phone": phone, "slot": slot}

    def again(text: str, code: int) -> HTMLResponse:
        return _form(
            request, state, db, service_code=service_code, day=day, error=text, values=values,
            status_code=code,
        )  # fmt: skip

    if book_limited(request, state):
        return await run_in_threadpool(again, "预约过于频繁，请稍后再试", 429)
    try:
        slot_at = dt.datetime.fromisoformat(slot)
    except ValueError:
        return await run_in_threadpool(again, "请选择预约时段", 422)
    data = service.BookingIn(service_code, slot_at, name, phone, id_number or None)
    try:
        row = await run_in_threadpool(
            service.book, db, data, settings=state.settings, now=state.clock.now()
        )
    except QueueError as exc:
        log.info("booking refused: %s", exc.message)
        return await run_in_threadpool(again, exc.message, exc.http_status)
    return RedirectResponse(f"/book/{row.code}", status_code=status.HTTP_303_SEE_OTHER)


def _not_found(request: Request, state: HubState) -> HTMLResponse:
    return state.templates.TemplateResponse(
        request,
        "appointments/booking.html",
        {"hall_name": state.settings.hall_name, "missing": True},
        status_code=404,
        headers=_HEADERS,
    )


@router.get("/book/{code}", response_class=HTMLResponse)
def booking_page(code: str, request: Request, db: SessionDep, state: StateDep) -> HTMLResponse:
    try:
        row = service.find(db, code)
    except QueueError:
        return _not_found(request, state)
    svc = db.get(Service, row.service_id)
    ticket = db.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    url = f"{_base_url(request, state)}/book/{row.code}"
    cfg = state.settings.appointments
    opens = row.slot_at - dt.timedelta(minutes=cfg.checkin_early_min)
    closes = row.slot_at + dt.timedelta(minutes=cfg.checkin_late_min)
    q = state.settings.queue
    return state.templates.TemplateResponse(
        request,
        "appointments/booking.html",
        {
            "hall_name": state.settings.hall_name,
            "missing": False,
            "a": row,
            "service_name": svc.name if svc else "",
            "slot": slot_text(row.slot_at, state),
            "state_label": STATE_LABELS.get(row.state, row.state),
            "checkin_window": f"{local_time(opens, q):%H:%M}–{local_time(closes, q):%H:%M}",
            "qr": qr_svg(url, size_px=220, title=f"预约码 {row.code}"),
            "ticket": ticket,
            "flash": request.query_params.get("m", ""),
        },
        headers=_HEADERS,
    )


@router.post("/book/{code}/cancel", response_class=HTMLResponse)
def booking_cancel(code: str, request: Request, db: SessionDep, state: StateDep) -> Response:
    try:
        row = service.cancel(db, code, now=state.clock.now())
    except QueueError as exc:
        if exc.http_status == 404:
            return _not_found(request, state)
        return RedirectResponse(f"/book/{service.normalise_code(code)}?m=refused", 303)
    return RedirectResponse(f"/book/{row.code}?m=cancelled", status_code=303)


# --- staff: 预约管理 --------------------------------------------------------------------------


def _day_view(db: Session, state: HubState, day: dt.date) -> list[dict[str, Any]]:
    numbers = dict(
        db.execute(
            select(Ticket.id, Ticket.number)
            .join(Appointment, Appointment.ticket_id == Ticket.id)
            .where(Appointment.day == day)
        ).all()
    )
    groups: dict[int, dict[str, Any]] = {}
    for row, svc in service.day_bookings(db, day=day):
        group = groups.setdefault(
            svc.id, {"service": svc.name, "code": svc.code, "rows": [], "active": 0}
        )
        active = row.state != "cancelled"
        group["active"] += 1 if active else 0
        group["rows"].append(
            {
                "code": row.code,
                "time": f"{local_time(row.slot_at, state.settings.queue):%H:%M}",
                "name": row.name_masked,
                "phone": row.phone_masked,
                "id_number": row.id_masked or "—",
                "state": row.state,
                "state_label": STATE_LABELS.get(row.state, row.state),
                "ticket": numbers.get(row.ticket_id) if row.ticket_id else None,
                "can_check_in": row.state == "booked",
            }
        )
    return list(groups.values())


def _page(
    request: Request, db: Session, state: HubState, user: User, day_text: str | None,
    flash: dict[str, Any] | None = None,
) -> HTMLResponse:  # fmt: skip
    today = operating_day(state.clock.now(), state.settings.queue)
    try:
        day = dt.date.fromisoformat(day_text) if day_text else today
    except ValueError:
        day = today
    return render(
        request, state, user, "appointments/admin.html",
        day=day.isoformat(), day_label=_day_label(day, today), groups=_day_view(db, state, day),
        prev_day=(day - dt.timedelta(days=1)).isoformat(),
        next_day=(day + dt.timedelta(days=1)).isoformat(), flash=flash,
    )  # fmt: skip


@staff_router.get("/appointments", response_class=HTMLResponse)
def admin_page(
    request: Request, db: SessionDep, state: StateDep, user: CurrentUser, day: str | None = None
) -> HTMLResponse:
    flash = request.session.pop(_FLASH, None)
    return _page(request, db, state, user, day, flash)


@staff_router.post("/appointments/{code}/checkin", response_class=HTMLResponse)
async def admin_check_in(
    code: str,
    request: Request,
    db: SessionDep,
    state: StateDep,
    user: CurrentUser,
    day: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        done = await run_in_threadpool(check_in_now, db, state, code, f"user:{user.id}")
        flash = {"ok": True, "text": f"预约 {code} 已签到，号码 {done.number}（预约优先）"}
    except QueueError as exc:
        flash = {"ok": False, "text": f"预约 {code} 未能签到：{exc.message}"}
    request.session[_FLASH] = flash
    return RedirectResponse(f"/appointments?day={day}", status_code=303)
