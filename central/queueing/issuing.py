"""Issuing tickets (取号): numbering, hours, caps, the closing-time rule and
the protected citizen identity.

- Number: the service's prefix and the day's sequence, zero-padded to three
  digits or to the width of ``number_end`` (A001 … A999, B0001 …). The
  `DayCounter` row of (service, day) is locked for the allocation, so numbers
  are unique per service per day on both databases and restart every day.
- Refusals, each with a Chinese reason: outside opening hours; the daily cap
  (``daily_cap``) or the number range (``number_end``) used up; the closing
  rule: when the forecast wait (waiting tickets × ``avg_handling_s`` ÷ open
  windows serving the service, at least one) would pass closing time; a
  person who already holds an open ticket of the service today.
- Identity (ID card number or mobile number, and optionally a name) is never
  stored in clear: an HMAC-SHA256 with ``queue.identity_key`` (derived from
  the hub secret when unset) enforces the one-ticket rule, and a masked form
  (张*三, 138****1234, 6101**********1234: the rules of `privacy`) is kept
  for display.
- 绿色通道 and VIP tickets need a priority reason code and are written to
  the fairness log.
- Transfers and auto-returns create a new waiting ticket in the target
  service with `continue_in`: it keeps the original ``queued_at`` (the
  citizen keeps their place) and priority, gets a number of the target
  service (numbers are per service), links back with ``transferred_from_id``
  and takes over the printed QR token, so the citizen's page follows them.
  These do not count towards the daily cap and are not refused by the
  closing rule: the citizen is already in the hall.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Final, cast

from sqlalchemy import Table, bindparam, case, select, update
from sqlalchemy.orm import Session

from anxin.settings import Settings
from broker.contract import utcnow
from central.queueing import locking, notify, privacy, reasons
from central.queueing.clock import at_local, local_time, operating_day
from central.queueing.errors import Invalid, Refused
from central.queueing.estimator import estimate_new_ticket, recent_service_loads
from central.queueing.events import QueueBus
from central.queueing.fairness import FairnessKind
from central.queueing.models import (
    FINAL_STATES,
    Channel,
    DayCounter,
    Priority,
    Service,
    Ticket,
)
from central.queueing.states import Verb
from central.queueing.txn import Txn, run, service_by_code

_ID_CARD = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^1\d{10}$")


# --- identity ------------------------------------------------------------------------


def identity_key(settings: Settings) -> bytes:
    key = settings.queue.identity_key
    if key is not None:
        return key.get_secret_value().encode()
    secret = settings.hub.secret_key.get_secret_value().encode()
    return hmac.new(secret, b"anxin-citizen-identity", hashlib.sha256).digest()


def normalise_identity(value: str) -> str:
    """An 18-character ID number (upper-case X) or an 11-digit mobile number."""
    v = re.sub(r"[\s-]", "", value).upper()
    if _ID_CARD.match(v):
        return v
    phone = privacy.normalize_phone(v)
    if _PHONE.match(phone):
        return phone
    raise Invalid("证件号码或手机号码格式不正确（18位身份证号或11位手机号）")


def mask_identity(normalised: str) -> str:
    if len(normalised) == 11:
        return privacy.mask_phone(normalised)
    return privacy.mask_id_number(normalised)


def hash_identity(normalised: str, key: bytes) -> str:
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


# --- numbering -------------------------------------------------------------------------


def format_number(service: Service, seq: int) -> str:
    width = max(3, len(str(service.number_end)))
    return f"{service.prefix}{seq:0{width}d}"


_COUNTER_TABLE = cast(Table, DayCounter.__table__)
_COUNTERS = _COUNTER_TABLE.c
_NO_CAP: Final = 2**31 - 1
_NEXT_SEQ = case(
    (_COUNTERS.last_number + 1 < bindparam("start"), bindparam("start")),
    else_=_COUNTERS.last_number + 1,
)
# One statement takes the next number, under the row's lock, only when the
# rules allow it (RETURNING: SQLite 3.35+, Debian 12's is 3.40). The ORM's
# read-lock-then-flush took two statements and a unit of work on every issue.
_TAKE_NUMBER = (
    update(_COUNTER_TABLE)
    .where(
        _COUNTERS.service_id == bindparam("b_service"),
        _COUNTERS.day == bindparam("b_day"),
        bindparam("end") >= _NEXT_SEQ,
        _COUNTERS.issued < bindparam("cap"),
    )
    .values(last_number=_NEXT_SEQ, issued=_COUNTERS.issued + bindparam("counted"))
    .returning(_COUNTERS.last_number)
)


def allocate_number(tx: Txn, service: Service, *, count_issue: bool) -> int:
    """The service's next number today; a refusal when the day's cap (for a
    ticket issued, not a transfer's) or the number range is used up."""
    locking.insert_ignore(
        tx.session, DayCounter,
        {"service_id": service.id, "day": tx.day, "last_number": 0, "issued": 0},
    )  # fmt: skip
    cap = service.daily_cap if count_issue else None
    seq = tx.session.execute(
        _TAKE_NUMBER,
        {"b_service": service.id, "b_day": tx.day, "start": service.number_start,
         "end": service.number_end, "cap": _NO_CAP if cap is None else cap,
         "counted": int(count_issue)},
    ).scalar()  # fmt: skip
    if seq is None:
        counter = locking.lock_counter(tx.session, service.id, tx.day)
        if cap is not None and counter.issued >= cap:
            raise Refused(f"今日“{service.name}”取号已达上限（{cap} 个），请改日办理")
        raise Refused(f"今日“{service.name}”号码已发完，请改日办理")
    return int(seq)


# --- the rules of issuing ----------------------------------------------------------------


def _check_hours(tx: Txn, service: Service) -> None:
    local = local_time(tx.now, tx.settings).time()
    if not service.opens_at <= local < service.closes_at:
        hours = f"{service.opens_at:%H:%M}–{service.closes_at:%H:%M}"
        raise Refused(f"“{service.name}”的取号时间为 {hours}，现在不在办理时间内")


def forecast_wait_s(session: Session, service: Service, day: dt.date, now: dt.datetime) -> float:
    """Seconds a ticket taken now would wait: the estimator's answer
    (`estimator.estimate_new_ticket`) from the hall's loads of the last
    second; with no open window serving the service, everyone waiting is
    counted at the configured average, as if one window opened."""
    load = recent_service_loads(session, day=day, now=now).get(service.id)
    if load is None:
        return 0.0
    minutes = estimate_new_ticket(load)
    if minutes is None:
        return load.waiting * service.avg_handling_s
    return minutes * 60.0


def _check_closing(tx: Txn, service: Service) -> None:
    closes = at_local(tx.day, service.closes_at, tx.settings)
    wait = forecast_wait_s(tx.session, service, tx.day, tx.now)  # read before the lock (`issue`)
    if tx.now + dt.timedelta(seconds=wait) > closes:
        raise Refused("今日该业务已停止取号：预计等候将超过下班时间")


def _check_one_open(tx: Txn, service: Service, citizen_hash: str) -> None:
    held = tx.session.scalar(
        select(Ticket.number)
        .where(
            Ticket.service_id == service.id,
            Ticket.day == tx.day,
            Ticket.citizen_hash == citizen_hash,
            Ticket.state.not_in([s.value for s in FINAL_STATES]),
        )
        .limit(1)
    )
    if held is not None:
        raise Refused(f"您已有“{service.name}”的有效号码 {held}，请勿重复取号")


def _priority(
    priority: Priority, reason: str | None, appointment_at: dt.datetime | None
) -> str | None:
    if priority in (Priority.GREEN, Priority.VIP):
        return reasons.check(reason, reasons.PRIORITY, what="优先取号")
    if priority == Priority.APPOINTMENT and appointment_at is None:
        raise Invalid("预约号需要预约时间")
    return None


def issue(
    session: Session,
    *,
    service: str,
    channel: Channel,
    bus: QueueBus,
    settings: Settings,
    priority: Priority = Priority.NORMAL,
    priority_reason: str | None = None,
    citizen_id: str | None = None,
    citizen_name: str | None = None,
    phone: str | None = None,
    appointment_at: dt.datetime | None = None,
    clerk_id: int | None = None,
    holder: str | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Issue a ticket of the service with code `service`; refusals raise `QueueError`.

    `holder` is an opaque key standing in for an identity when none is given
    (a phone's browser on the public page): one open ticket per service per
    holder, as for an identity.

    A mobile number (`phone`, or a `citizen_id` that is one) is kept encrypted
    for the SMS reminders (`notify.store_contact`) and never shown in full.
    """
    if phone is None and citizen_id and privacy.is_mobile(citizen_id):
        phone = citizen_id
    if phone is not None and not privacy.is_mobile(phone):
        raise Invalid("手机号码格式不正确：请填写 11 位大陆手机号")
    if appointment_at is not None and priority == Priority.NORMAL:
        priority = Priority.APPOINTMENT
    if channel == Channel.APPOINTMENT and appointment_at is None:
        raise Invalid("预约签到需要预约时间")
    reason = _priority(priority, priority_reason, appointment_at)
    citizen_hash = masked = None
    if citizen_id:
        normalised = normalise_identity(citizen_id)
        citizen_hash = hash_identity(normalised, identity_key(settings))
        masked = mask_identity(normalised)
    elif holder:
        citizen_hash = hash_identity(f"holder:{holder}", identity_key(settings))
    if citizen_name:
        masked = " ".join(p for p in (privacy.mask_name(citizen_name), masked) if p)[:32]

    def work(tx: Txn) -> Ticket:
        svc = service_by_code(tx.session, service)
        _check_hours(tx, svc)
        # The counter lock first: it also serialises the one-ticket check.
        counter_seq = allocate_number(tx, svc, count_issue=True)
        if citizen_hash is not None:
            _check_one_open(tx, svc, citizen_hash)
        _check_closing(tx, svc)
        ticket = Ticket(
            day=tx.day,
            service_id=svc.id,
            seq=counter_seq,
            number=format_number(svc, counter_seq),
            channel=channel.value,
            priority=priority.value,
            priority_reason=reason,
            citizen_hash=citizen_hash,
            citizen_masked=masked,
            token=secrets.token_urlsafe(16),
            issued_at=tx.now,
            queued_at=tx.now,
            appointment_at=appointment_at,
            recalls=0,
        )
        tx.transition(
            ticket,
            Verb.ISSUE,
            clerk_id=clerk_id,
            reason=reason,
            detail={"channel": channel.value, "priority": priority.value},
        )
        if phone is not None:
            notify.store_contact(
                tx.session, ticket=ticket, phone=phone,
                cipher=notify.ContactCipher.from_settings(settings),
                signature=settings.notify.signature,
            )  # fmt: skip
        if reason is not None:
            kind = (
                FairnessKind.GREEN_CHANNEL
                if priority == Priority.GREEN
                else (FairnessKind.PRIORITY)
            )
            tx.fairness(
                kind,
                reason,
                ticket,
                clerk_id=clerk_id,
                detail={"priority": priority.value, "at": "issue"},
            )
        return ticket

    # The hall's loads for the closing check, read now and not under the
    # write lock: once a second they cost a few queries over the day's
    # tickets, which every window's verb would otherwise wait behind.
    now = now or utcnow()
    recent_service_loads(session, day=operating_day(now, settings.queue), now=now)
    return run(session, work, bus=bus, settings=settings.queue, now=now)


def continue_in(
    tx: Txn, source: Ticket, target: Service, *, return_service_id: int | None, why: str
) -> Ticket:
    """A new waiting ticket in `target` carrying on `source` (transfer or return)."""
    seq = allocate_number(tx, target, count_issue=False)
    token = source.token
    tx.write(source, token=secrets.token_urlsafe(16))  # free the token for the new row
    ticket = Ticket(
        day=source.day,
        service_id=target.id,
        seq=seq,
        number=format_number(target, seq),
        channel=source.channel,
        priority=source.priority,
        priority_reason=source.priority_reason,
        citizen_hash=source.citizen_hash,
        citizen_masked=source.citizen_masked,
        token=token,
        issued_at=tx.now,
        queued_at=source.queued_at,
        appointment_at=source.appointment_at,
        recalls=0,
        transferred_from_id=source.id,
        return_service_id=return_service_id,
    )
    tx.transition(
        ticket, Verb.ISSUE, reason=why, detail={"from": source.number, "from_ticket": source.id}
    )
    return ticket
