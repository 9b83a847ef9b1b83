"""The appointments table (migration 0011).

Personal data is protected as for tickets: the phone number is kept only as
an HMAC (the one-booking rule), a masked form and a Fernet ciphertext (for
the ticket's SMS reminders after check-in); the ID number, when given, only
as an HMAC and a masked form; the name only masked.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime
from central.queueing.models import BigPk


class BookingState(StrEnum):
    BOOKED = "booked"
    CHECKING_IN = "checking_in"  # claimed by one check-in while its ticket is issued
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"


class Appointment(Base):
    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    # The citizen's credential (QR code, SMS, page URL): 10 characters, ~50 bits.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    slot_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16), default=BookingState.BOOKED.value)
    name_masked: Mapped[str] = mapped_column(String(32))
    phone_hash: Mapped[str] = mapped_column(String(64))
    phone_masked: Mapped[str] = mapped_column(String(16))
    phone_encrypted: Mapped[str] = mapped_column(Text)
    id_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    id_masked: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    checked_in_by: Mapped[str | None] = mapped_column(String(80), default=None)
    ticket_id: Mapped[int | None] = mapped_column(BigPk, ForeignKey("tickets.id"), default=None)


# Capacity counts and the day view read bookings by (service, day, slot).
Index("ix_appointments_service_slot", Appointment.service_id, Appointment.day, Appointment.slot_at)
# One active booking per phone per service per day (cancelled ones do not count).
Index(
    "uq_appointments_active_phone",
    Appointment.phone_hash, Appointment.service_id, Appointment.day,
    unique=True,
    sqlite_where=Appointment.state != BookingState.CANCELLED.value,
    postgresql_where=Appointment.state != BookingState.CANCELLED.value,
)  # fmt: skip
