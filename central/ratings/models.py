"""The ratings table: one row per rated ticket (a unique constraint makes a
second rating of the same ticket fail, whichever hub worker tries it).

Each row carries what the upward report to the city 好差评 system needs
without joining the queue tables again: ticket number, day, service, matter,
window, clerk, channel, level, reasons and time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

BigPk = BigInteger().with_variant(Integer(), "sqlite")


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("ticket_id"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
    )

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(BigPk, ForeignKey("tickets.id"))
    ticket_number: Mapped[str] = mapped_column(String(8))
    # The ticket's operating day: reports and the upward report go by hall day.
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    # The matter (事项) the citizen came for, when the ticket's request named one.
    matter: Mapped[str | None] = mapped_column(String(64), default=None)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"), default=None)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    channel: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[str | None] = mapped_column(String(63), default=None)
    level: Mapped[int] = mapped_column(SmallInteger)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(String(200), default=None)
    rated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


Index("ix_ratings_window_day", Rating.window_id, Rating.day)
