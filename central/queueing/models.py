"""Tables of the queue: hall configuration, tickets and their timeline, window
state, daily numbering and the hash-chained fairness log.

Hall configuration (areas, services, windows, the services each window serves
with a weight, the services each clerk is certified for) is data the admin
web edits and that imports and exports as YAML (`central.queueing.hallconfig`).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

BigPk = BigInteger().with_variant(Integer(), "sqlite")


# --- configuration -----------------------------------------------------------------


class WindowKind(StrEnum):
    COMPREHENSIVE = "comprehensive"  # 综合窗口
    DEDICATED = "dedicated"  # 专窗
    GREEN = "green"  # 绿色通道
    HELPER = "helper"  # 帮办代办


class ServiceArea(Base):
    """A zone of the hall (综合窗口区: 市场准入, 不动产登记, …)."""

    __tablename__ = "service_areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    # 无声叫号: boards show the area's calls without a voice announcement;
    # citizens are told by SMS instead.
    silent_calling: Mapped[bool] = mapped_column(Boolean, default=False)


class Service(Base):
    """A queue: tickets of one service share a prefix letter and a daily range."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    area_id: Mapped[int] = mapped_column(ForeignKey("service_areas.id"))
    prefix: Mapped[str] = mapped_column(String(1), unique=True)
    number_start: Mapped[int] = mapped_column(Integer, default=1)
    number_end: Mapped[int] = mapped_column(Integer, default=999)
    opens_at: Mapped[dt.time] = mapped_column(Time)
    closes_at: Mapped[dt.time] = mapped_column(Time)
    daily_cap: Mapped[int | None] = mapped_column(Integer, default=None)
    avg_handling_s: Mapped[int] = mapped_column(Integer, default=600)
    # Notify the citizen when this many people or fewer are ahead.
    notify_ahead: Mapped[int] = mapped_column(Integer, default=3)
    active: Mapped[bool] = mapped_column(default=True)


class Window(Base):
    __tablename__ = "windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    area_id: Mapped[int] = mapped_column(ForeignKey("service_areas.id"))
    kind: Mapped[str] = mapped_column(String(16), default=WindowKind.COMPREHENSIVE.value)
    active: Mapped[bool] = mapped_column(default=True)


class WindowService(Base):
    """A service a window serves, with its weight in the call-next rule."""

    __tablename__ = "window_services"

    window_id: Mapped[int] = mapped_column(
        ForeignKey("windows.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[float] = mapped_column(Float, default=1.0)


class ClerkService(Base):
    """A service a clerk (a user with the clerk role) is certified for."""

    __tablename__ = "clerk_services"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )


# --- operation -------------------------------------------------------------------------


class WindowStatus(StrEnum):
    CLOSED = "closed"  # no clerk signed in
    OPEN = "open"
    PAUSED = "paused"


class WindowState(Base):
    """Who is at a window and what it is doing; locked by every window verb."""

    __tablename__ = "window_states"

    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=WindowStatus.CLOSED.value)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    pause_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    current_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DayCounter(Base):
    """The last number issued per service per operating day (row-locked on issue)."""

    __tablename__ = "day_counters"

    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    issued: Mapped[int] = mapped_column(Integer, default=0)


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    PARKED = "parked"
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # ended by the nightly close


FINAL_STATES = frozenset(
    {TicketState.DONE, TicketState.NO_SHOW, TicketState.TRANSFERRED,
     TicketState.CANCELLED, TicketState.EXPIRED}
)  # fmt: skip


class Channel(StrEnum):
    KIOSK = "kiosk"
    MOBILE = "mobile"
    APPOINTMENT = "appointment"  # check-in of a booking
    WINDOW = "window"  # issued by a clerk
    OFFLINE_BLOCK = "offline_block"  # a kiosk's reserved block while the hub was away


class Priority(StrEnum):
    """Priority classes, highest first in the call-next rule."""

    GREEN = "green"  # 绿色通道: elderly >= 70, disabled, pregnant, military (依法优先)
    VIP = "vip"  # by an admin rule
    APPOINTMENT = "appointment"
    NORMAL = "normal"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("service_id", "day", "seq"),)

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(8))  # prefix + zero-padded seq, e.g. A012
    channel: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16), default=Priority.NORMAL.value)
    priority_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    state: Mapped[str] = mapped_column(String(16), index=True)
    # Citizen identity, protected: a keyed hash to enforce per-person limits and
    # a masked form for display; the full value is never stored in clear.
    citizen_hash: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    citizen_masked: Mapped[str | None] = mapped_column(String(32), default=None)
    # Unguessable id in the citizen page URL printed as a QR code (办事一码通).
    token: Mapped[str] = mapped_column(String(32), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # Queue position key: kept across transfers so the citizen keeps their place.
    queued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    appointment_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"), default=None)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    called_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    last_called_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    recalls: Mapped[int] = mapped_column(Integer, default=0)
    serving_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    parked_from: Mapped[str | None] = mapped_column(String(16), default=None)
    # A transfer creates a new ticket in the target queue linked to this one.
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    return_service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), default=None)


class TicketEvent(Base):
    """The ticket's timeline: one row per transition, in the same transaction."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    verb: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"), default=None)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FairnessEntry(Base):
    """Append-only, hash-chained record of everything that bends queue order.

    Each entry's `hash` covers its own content and the previous entry's hash,
    so editing or deleting a past entry breaks every hash after it
    (`anxin audit verify`).
    """

    __tablename__ = "fairness_log"

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    ticket_number: Mapped[str | None] = mapped_column(String(8), default=None)
    window_id: Mapped[int | None] = mapped_column(Integer, default=None)
    clerk_id: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class NotificationState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after retries


class Notification(Base):
    """Durable outbox of citizen messages (SMS): queued in the transition's
    transaction, sent by a worker, never twice (unique idempotency key)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    recipient: Mapped[str] = mapped_column(Text)  # protected like citizen identity
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=NotificationState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class TicketContact(Base):
    """A phone number a citizen gave for SMS, kept apart from the ticket.

    Encrypted with the hall's contact key (`central.queueing.notify.ContactCipher`);
    only the masked form is ever shown. A separate table keeps the secret out
    of every ticket query and lets a retention job purge contacts alone.
    """

    __tablename__ = "ticket_contacts"

    ticket_id: Mapped[int] = mapped_column(
        BigPk, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    phone_encrypted: Mapped[str] = mapped_column(Text)
    phone_masked: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


# The hall board's "latest calls" query reads the day's tickets by call time.
Index("ix_tickets_day_last_called_at", Ticket.day, Ticket.last_called_at)
# The estimator reads each service's latest completions of the day
# (`central.queueing.estimator`): one backward index scan per service.
Index("ix_tickets_service_ended", Ticket.service_id, Ticket.day, Ticket.ended_at)
# Call-next reads the head of each (service, day, priority) sub-queue of
# waiting tickets (`central.queueing.calling`): one index probe per head.
Index(
    "ix_tickets_queue_heads",
    Ticket.service_id, Ticket.day, Ticket.state, Ticket.priority, Ticket.queued_at, Ticket.id,
)  # fmt: skip


# --- kiosk ticketing (`central.queueing.kiosks`) ------------------------------------------


class KioskBlock(Base):
    """Numbers ``first_seq``..``last_seq`` of a service's day reserved for one
    kiosk's offline issuing. Reserving advances the service's `DayCounter`,
    so online issuing never hands out these numbers."""

    __tablename__ = "kiosk_blocks"

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(63), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    reserved_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class KioskRequest(Base):
    """One online ticket request of a kiosk, claimed once (several hub workers
    hear every request) and voided when the kiosk gave up waiting for it."""

    __tablename__ = "kiosk_requests"

    device_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    # claimed (being issued), issued, refused, void (the kiosk gave up)
    outcome: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    matter: Mapped[str | None] = mapped_column(String(64), default=None)


Index("ix_kiosk_blocks_service_day", KioskBlock.service_id, KioskBlock.day)
