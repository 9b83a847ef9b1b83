"""Booking, cancelling and checking in appointments (预约).

- **Slots.** Per service and day, every ``appointments.slot_minutes`` from the
  service's opening time (hall configuration, `central.queueing`) while the
  slot ends by its closing time, on ``appointments.weekdays`` outside
  ``closed_dates``. Each slot takes ``capacity`` bookings (per service:
  ``service_capacity``; 0 means the service is not bookable).
- **Booking** (no sign-in): a name, a mobile number, optionally an ID
  number. Refused, in Chinese: a slot already begun, a day beyond
  ``days_ahead``, a full slot, a second active booking of the same phone for
  the same service and day (a partial unique index backs the check, so two
  workers cannot both win). One write transaction; on PostgreSQL the
  service row is locked so concurrent bookings of a service queue up.
- **Check-in** turns a booking into a ticket with priority ``appointment``,
  channel ``appointment`` and ``appointment_at`` = the slot, through the
  queue's own issuing (`central.queueing.service.issue`). Allowed from
  ``checkin_early_min`` before to ``checkin_late_min`` after the slot. The
  booking is first claimed (booked → checking_in, one transaction), then the
  ticket is issued, then the booking is settled (checked_in, with the ticket)
  or, when issuing refused, released (back to booked) with the queue's reason.
  So a booking checks in once even when a kiosk and a window try at the same
  instant; a claim older than `CLAIM_STALE_S` (a crash between the steps) may
  be taken again.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.appointments.models import Appointment, BookingState
from central.queueing import locking, notify, privacy, service
from central.queueing.clock import at_local, local_time, operating_day
from central.queueing.errors import Invalid, NotFound, QueueError, Refused
from central.queueing.events import QueueBus
from central.queueing.issuing import hash_identity, identity_key, mask_identity, normalise_identity
from central.queueing.models import Channel, Priority, Service, Ticket

log = logging.getLogger(__name__)

CODE_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
CODE_LENGTH: Final = 10
CLAIM_STALE_S: Final = 60.0
_ACTIVE: Final = (BookingState.BOOKED.value, BookingState.CHECKING_IN.value,
                  BookingState.CHECKED_IN.value)  # fmt: skip


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """The booking code in `text` (as typed, or read from the QR code's URL)."""
    v = text.strip().rstrip("/").rsplit("/", 1)[-1].upper().replace("-", "").replace(" ", "")
    if len(v) == CODE_LENGTH and all(c in CODE_ALPHABET for c in v):
        return v
    return None


# --- slots ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    at: dt.datetime  # aware UTC
    label: str  # 09:30
    booked: int
    capacity: int

    @property
    def left(self) -> int:
        return max(0, self.capacity - self.booked)


def capacity_of(settings: Settings, service_code: str) -> int:
    return settings.appointments.service_capacity.get(service_code, settings.appointments.capacity)


def bookable_days(settings: Settings, now: dt.datetime) -> list[dt.date]:
    cfg = settings.appointments
    today = operating_day(now, settings.queue)
    days = [today + dt.timedelta(days=n) for n in range(cfg.days_ahead + 1)]
    return [d for d in days if d.weekday() in cfg.weekdays and d not in cfg.closed_dates]


def slot_times(svc: Service, day: dt.date, settings: Settings) -> list[dt.datetime]:
    step = dt.timedelta(minutes=settings.appointments.slot_minutes)
    start = at_local(day, svc.opens_at, settings.queue)
    end = at_local(day, svc.closes_at, settings.queue)
    out: list[dt.datetime] = []
    while start + step <= end:
        out.append(start)
        start += step
    return out


def _booked_counts(session: Session, service_id: int, day: dt.date) -> dict[dt.datetime, int]:
    rows = session.execute(
        select(Appointment.slot_at, func.count())
        .where(
            Appointment.service_id == service_id,
            Appointment.day == day,
            Appointment.state.in_(_ACTIVE),
        )
        .group_by(Appointment.slot_at)
    ).all()
    return {at: int(n) for at, n in rows}


def slots(
    session: Session, *, service_code: str, day: dt.date, settings: Settings, now: dt.datetime
) -> list[Slot]:
    """The day's slots of a service that can still be booked (not begun)."""
    svc = service.service_by_code(session, service_code)
    if day not in bookable_days(settings, now):
        return []
    capacity = capacity_of(settings, svc.code)
    counts = _booked_counts(session, svc.id, day)
    zone_settings = settings.queue
    return [
        Slot(at, f"{local_time(at, zone_settings):%H:%M}", counts.get(at, 0), capacity)
        for at in slot_times(svc, day, settings)
        if at > now
    ]


# --- booking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingIn:
    service: str
    slot_at: dt.datetime
    name: str
    phone: str
    id_number: str | None = None


def _check_slot(svc: Service, slot_at: dt.datetime, settings: Settings, now: dt.datetime) -> None:
    day = operating_day(slot_at, settings.queue)
    if slot_at <= now:
        raise Refused("该时段已开始或已过去，请选择以后的时段")
    last = operating_day(now, settings.queue) + dt.timedelta(days=settings.appointments.days_ahead)
    if day > last:
        raise Refused(f"最多可预约 {settings.appointments.days_ahead} 天内的时段")
    if day not in bookable_days(settings, now):
        raise Refused(f"{day.month}月{day.day}日不开放预约，请选择其他日期")
    if slot_at not in slot_times(svc, day, settings):
        raise Invalid("预约时段不正确，请重新选择")


def book(session: Session, body: BookingIn, *, settings: Settings, now: dt.datetime) -> Appointment:
    """Book a slot; refusals raise `QueueError` with a Chinese reason."""
    if not settings.appointments.enabled:
        raise Refused("本大厅暂未开放预约，请到大厅取号")
    name = body.name.strip()
    if not 1 <= len(name) <= 20:
        raise Invalid("请填写姓名（不超过 20 个字）")
    phone = privacy.normalize_phone(body.phone)
    if not privacy.is_mobile(phone):
        raise Invalid("手机号码格式不正确：请填写 11 位大陆手机号")
    key = identity_key(settings)
    id_hash = id_masked = None
    if body.id_number and body.id_number.strip():
        number = normalise_identity(body.id_number)
        if len(number) != 18:
            raise Invalid("身份证号码格式不正确（18 位）")
        id_hash, id_masked = hash_identity(number, key), mask_identity(number)
    slot_at = body.slot_at if body.slot_at.tzinfo else body.slot_at.replace(tzinfo=dt.UTC)
    slot_at = slot_at.astimezone(dt.UTC)
    phone_hash = hash_identity(f"appointment-phone:{phone}", key)
    cipher = notify.ContactCipher.from_settings(settings)

    def work() -> Appointment:
        svc = session.scalar(select(Service).where(Service.code == body.service).with_for_update())
        if svc is None or not svc.active:
            raise NotFound("没有这项业务，请重新选择")
        capacity = capacity_of(settings, svc.code)
        if capacity <= 0:
            raise Refused(f"“{svc.name}”暂不开放预约，请到大厅取号")
        _check_slot(svc, slot_at, settings, now)
        day = operating_day(slot_at, settings.queue)
        held = session.scalar(
            select(Appointment).where(
                Appointment.phone_hash == phone_hash,
                Appointment.service_id == svc.id,
                Appointment.day == day,
                Appointment.state.in_(_ACTIVE),
            )
        )
        if held is not None:
            at = local_time(held.slot_at, settings.queue)
            raise Refused(f"该手机号当日已预约“{svc.name}”（{at:%H:%M}），请勿重复预约")
        taken = session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.service_id == svc.id,
                Appointment.slot_at == slot_at,
                Appointment.state.in_(_ACTIVE),
            )
        )
        if (taken or 0) >= capacity:
            raise Refused("该时段已约满，请选择其他时段")
        row = Appointment(
            code=new_code(), service_id=svc.id, day=day, slot_at=slot_at,
            state=BookingState.BOOKED.value, name_masked=privacy.mask_name(name)[:32],
            phone_hash=phone_hash, phone_masked=privacy.mask_phone(phone),
            phone_encrypted=cipher.encrypt(phone), id_hash=id_hash, id_masked=id_masked,
            created_at=now,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row

    try:
        row = locking.run_write(session, work)
    except IntegrityError:
        # The partial unique index: the same phone booked the same day meanwhile.
        raise Refused("该手机号当日已预约该业务，请勿重复预约") from None
    log.info("appointment %s booked (service %s, %s)", row.code, body.service, row.slot_at)
    return row


def find(session: Session, code: str) -> Appointment:
    normal = normalise_code(code)
    row = None if normal is None else session.scalar(
        select(Appointment).where(Appointment.code == normal)
    )  # fmt: skip
    if row is None:
        raise NotFound("没有找到该预约，请核对预约码")
    return row


def cancel(session: Session, code: str, *, now: dt.datetime) -> Appointment:
    def work() -> Appointment:
        row = find(session, code)
        if row.state == BookingState.CANCELLED.value:
            return row  # cancelling twice is harmless
        if row.state != BookingState.BOOKED.value:
            raise Refused("该预约已签到取号，不能取消")
        row.state = BookingState.CANCELLED.value
        row.cancelled_at = now
        return row

    row = locking.run_write(session, work)
    log.info("appointment %s cancelled", row.code)
    return row


# --- check-in ---------------------------------------------------------------------------


def _hhmm(at: dt.datetime, settings: Settings) -> str:
    return f"{local_time(at, settings.queue):%H:%M}"


def _claim(session: Session, code: str, *, settings: Settings, now: dt.datetime) -> Appointment:
    cfg = settings.appointments

    def work() -> Appointment:
        row = find(session, code)
        session.refresh(row, with_for_update=True)
        if row.state == BookingState.CANCELLED.value:
            raise Refused("该预约已取消，不能签到。如需办理请重新取号")
        if row.state == BookingState.CHECKED_IN.value:
            number = session.scalar(select(Ticket.number).where(Ticket.id == row.ticket_id))
            when = _hhmm(row.checked_in_at or now, settings)
            raise Refused(f"该预约已于 {when} 签到，号码 {number}，请留意叫号")
        stale = row.claimed_at is None or (now - row.claimed_at).total_seconds() > CLAIM_STALE_S
        if row.state == BookingState.CHECKING_IN.value and not stale:
            raise Refused("该预约正在签到，请稍候")
        if operating_day(row.slot_at, settings.queue) != operating_day(now, settings.queue):
            day = local_time(row.slot_at, settings.queue)
            raise Refused(f"您预约的是 {day.month}月{day.day}日 {day:%H:%M}，请当日前来签到")
        opens = row.slot_at - dt.timedelta(minutes=cfg.checkin_early_min)
        closes = row.slot_at + dt.timedelta(minutes=cfg.checkin_late_min)
        if now < opens:
            raise Refused(
                f"签到时间未到：您预约的是 {_hhmm(row.slot_at, settings)}，"
                f"请于 {_hhmm(opens, settings)} 后签到"
            )
        if now > closes:
            raise Refused(
                f"已超过签到时间（预约 {_hhmm(row.slot_at, settings)}，"
                f"{_hhmm(closes, settings)} 前签到），请重新取号"
            )
        row.state = BookingState.CHECKING_IN.value
        row.claimed_at = now
        return row

    return locking.run_write(session, work)


def _release(session: Session, row_id: int) -> None:
    def work() -> None:
        session.execute(
            update(Appointment)
            .where(Appointment.id == row_id, Appointment.state == BookingState.CHECKING_IN.value)
            .values(state=BookingState.BOOKED.value, claimed_at=None)
        )

    locking.run_write(session, work)


def _settle(session: Session, row_id: int, ticket_id: int, by: str, now: dt.datetime) -> None:
    def work() -> None:
        session.execute(
            update(Appointment)
            .where(Appointment.id == row_id)
            .values(
                state=BookingState.CHECKED_IN.value,
                ticket_id=ticket_id,
                checked_in_at=now,
                checked_in_by=by[:80],
            )
        )

    locking.run_write(session, work)


def check_in(
    session: Session, code: str, *, by: str, bus: QueueBus, settings: Settings, now: dt.datetime
) -> Ticket:
    """Turn a booking into its ticket; `by` says who (``kiosk:kiosk-01``, ``user:7``)."""
    row = _claim(session, code, settings=settings, now=now)
    svc = session.get(Service, row.service_id)
    assert svc is not None
    phone: str | None = None
    try:
        phone = notify.ContactCipher.from_settings(settings).decrypt(row.phone_encrypted)
    except ValueError:
        log.warning("appointment %s: phone unreadable with this key; no SMS", row.code)
    try:
        ticket = service.issue(
            session,
            service=svc.code,
            channel=Channel.APPOINTMENT,
            priority=Priority.APPOINTMENT,
            appointment_at=row.slot_at,
            phone=phone,
            citizen_id=phone,
            citizen_name=None,
            bus=bus,
            settings=settings,
            now=now,
        )
    except QueueError as exc:
        _release(session, row.id)
        log.info("appointment %s: check-in refused: %s", row.code, exc.message)
        raise
    except Exception:
        _release(session, row.id)
        raise
    _settle(session, row.id, ticket.id, by, now)
    log.info("appointment %s checked in by %s: ticket %s", row.code, by, ticket.number)
    return ticket


# --- the day view -----------------------------------------------------------------------


def day_bookings(session: Session, *, day: dt.date) -> list[tuple[Appointment, Service]]:
    rows = session.execute(
        select(Appointment, Service)
        .join(Service, Service.id == Appointment.service_id)
        .where(Appointment.day == day)
        .order_by(Service.id, Appointment.slot_at, Appointment.id)
    ).all()
    return [(a, s) for a, s in rows]
