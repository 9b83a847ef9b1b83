"""The appointments REST API.

    POST /api/v1/appointments                 book (no sign-in)        201
    GET  /api/v1/appointments/slots           the slots of a service and day
    GET  /api/v1/appointments/{code}          the booking, masked
    POST /api/v1/appointments/{code}/cancel   cancel with the code (no sign-in)
    POST /api/v1/appointments/{code}/checkin  staff: check in → the ticket

Kiosks check in over MQTT instead (`central.queueing.kiosks`). Refusals are
``{"detail": "<Chinese reason>"}`` with the queue's status codes (404, 409,
422); bookings per client address are rate-limited like public tickets.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItemPerHour
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from central.appointments import service
from central.appointments.models import Appointment, BookingState
from central.deps import CsrfChecked, CurrentUser, SessionDep
from central.queueing.clock import local_time
from central.queueing.errors import QueueError
from central.queueing.estimator import estimate_ticket
from central.queueing.models import Service
from central.state import HubState, StateDep

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/appointments", tags=["appointments"])
staff_router = APIRouter(
    prefix="/api/v1/appointments", tags=["appointments"], dependencies=[CsrfChecked]
)

STATE_LABELS = {
    BookingState.BOOKED.value: "已预约",
    BookingState.CHECKING_IN.value: "正在签到",
    BookingState.CHECKED_IN.value: "已签到",
    BookingState.CANCELLED.value: "已取消",
}


class BookIn(BaseModel):
    service: Annotated[str, Field(min_length=1, max_length=32, description="service code")]
    slot_at: dt.datetime = Field(description="start of the slot (from /slots)")
    name: Annotated[str, Field(min_length=1, max_length=20)]
    phone: Annotated[str, Field(min_length=11, max_length=20, description="mobile number")]
    id_number: str | None = Field(None, max_length=20, description="身份证号 (optional)")


class AppointmentOut(BaseModel):
    code: str
    service: str
    service_name: str
    day: dt.date
    slot_at: dt.datetime
    slot: str = Field(description="local slot time, e.g. 12月1日 10:30")
    state: str
    state_label: str
    name: str = Field(description="masked")
    phone: str = Field(description="masked")
    id_number: str | None = Field(description="masked")
    page_path: str = Field(description="the booking page, also the QR code's content")


class SlotOut(BaseModel):
    slot_at: dt.datetime
    label: str
    left: int
    capacity: int


class CheckinOut(BaseModel):
    number: str
    service: str
    priority: str
    appointment_at: dt.datetime | None
    ahead: int
    minutes: int | None
    citizen_path: str


def slot_text(at: dt.datetime, state: HubState) -> str:
    local = local_time(at, state.settings.queue)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def out(row: Appointment, svc: Service, state: HubState) -> AppointmentOut:
    return AppointmentOut(
        code=row.code, service=svc.code, service_name=svc.name, day=row.day, slot_at=row.slot_at,
        slot=slot_text(row.slot_at, state), state=row.state,
        state_label=STATE_LABELS.get(row.state, row.state), name=row.name_masked,
        phone=row.phone_masked, id_number=row.id_masked, page_path=f"/book/{row.code}",
    )  # fmt: skip


def _error(exc: QueueError) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=exc.http_status)


def book_limited(request: Request, state: HubState) -> bool:
    """False when this client address booked too often in the last hour."""
    address = request.client.host if request.client else "unknown"
    per_hour = RateLimitItemPerHour(state.settings.appointments.per_address_per_hour)
    if state.rate_limits.hit(per_hour, "appointment", address):
        return False
    log.warning("appointments from %s over the hourly limit", address)
    return True


def with_service(db: Session, row: Appointment) -> tuple[Appointment, Service]:
    svc = db.get(Service, row.service_id)
    assert svc is not None
    return row, svc


@router.post("", status_code=201, response_model=AppointmentOut)
async def book(body: BookIn, request: Request, db: SessionDep, state: StateDep) -> Any:
    if book_limited(request, state):
        return JSONResponse({"detail": "预约过于频繁，请稍后再试"}, status_code=429)
    now = state.clock.now()
    data = service.BookingIn(body.service, body.slot_at, body.name, body.phone, body.id_number)
    try:
        row, svc = await run_in_threadpool(
            lambda: with_service(db, service.book(db, data, settings=state.settings, now=now))
        )
    except QueueError as exc:
        log.info("booking refused: %s", exc.message)
        return _error(exc)
    return out(row, svc, state)


@router.get("/slots", response_model=list[SlotOut])
def slots(
    db: SessionDep, state: StateDep, service_code: Annotated[str, Query(alias="service")],
    day: dt.date,
) -> Any:  # fmt: skip
    try:
        found = service.slots(
            db, service_code=service_code, day=day, settings=state.settings, now=state.clock.now()
        )
    except QueueError as exc:
        return _error(exc)
    return [SlotOut(slot_at=s.at, label=s.label, left=s.left, capacity=s.capacity) for s in found]


@router.get("/{code}", response_model=AppointmentOut)
def get_one(code: str, db: SessionDep, state: StateDep) -> Any:
    try:
        row, svc = with_service(db, service.find(db, code))
    except QueueError as exc:
        return _error(exc)
    return out(row, svc, state)


@router.post("/{code}/cancel", response_model=AppointmentOut)
def cancel(code: str, db: SessionDep, state: StateDep) -> Any:
    try:
        row, svc = with_service(db, service.cancel(db, code, now=state.clock.now()))
    except QueueError as exc:
        return _error(exc)
    return out(row, svc, state)


def check_in_now(db: Session, state: HubState, code: str, by: str) -> CheckinOut:
    now = state.clock.now()
    ticket = service.check_in(
        db, code, by=by, bus=state.queue_bus, settings=state.settings, now=now
    )
    estimate = estimate_ticket(db, ticket, now=now, recent=True)
    svc = db.get(Service, ticket.service_id)
    return CheckinOut(
        number=ticket.number, service=svc.name if svc else "", priority=ticket.priority,
        appointment_at=ticket.appointment_at, ahead=estimate.ahead,
        minutes=estimate.shown_minutes, citizen_path=f"/t/{ticket.token}",
    )  # fmt: skip


@staff_router.post("/{code}/checkin", response_model=CheckinOut)
async def check_in(code: str, db: SessionDep, state: StateDep, user: CurrentUser) -> Any:
    try:
        return await run_in_threadpool(check_in_now, db, state, code, f"user:{user.id}")
    except QueueError as exc:
        return _error(exc)
