"""Records of the interpreter service: one row per request, one per offer,
an append-only event log, and the recordings the terminals reported. The live state is in memory
(`central.interpreting.acd`); these rows are what reports are made of.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

BigPk = BigInteger().with_variant(Integer(), "sqlite")


class InterpRequest(Base):
    __tablename__ = "interp_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    terminal: Mapped[str] = mapped_column(String(63))
    location: Mapped[str | None] = mapped_column(String(100), default=None)
    language: Mapped[str] = mapped_column(String(8))
    consent_recording: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # waiting, connected, ended, abandoned
    state: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    abandoned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    interpreter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    end_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str | None] = mapped_column(String(500), default=None)


Index("ix_interp_requests_requested_at", InterpRequest.requested_at)


class InterpOffer(Base):
    __tablename__ = "interp_offers"

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("interp_requests.id"), index=True)
    interpreter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    offered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # accepted, declined, timeout, withdrawn (the citizen left), lost (console gone)
    result: Mapped[str | None] = mapped_column(String(16), default=None)
    result_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)


class InterpEvent(Base):
    __tablename__ = "interp_events"

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    # requested, offered, declined, timeout, withdrawn, answered, ended,
    # abandoned, outcome, status, orphaned
    kind: Mapped[str] = mapped_column(String(24))
    request_id: Mapped[str | None] = mapped_column(
        ForeignKey("interp_requests.id"), default=None, index=True
    )
    interpreter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InterpRecording(Base):
    """One recorded segment of a call, as its terminal reported it (the
    ``recording_saved`` / ``recording_failed`` device events, `broker.recording`).
    The file stays on the terminal; `file` is its name there."""

    __tablename__ = "interp_recordings"
    __table_args__ = (UniqueConstraint("request_id", "segment"),)

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("interp_requests.id"))
    segment: Mapped[int] = mapped_column(Integer)
    terminal: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16))  # saved, failed
    file: Mapped[str | None] = mapped_column(String(100), default=None)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
