"""Tables of the device registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants 64 bits
# for a table that grows with every device event.
EventPk = BigInteger().with_variant(Integer(), "sqlite")


class Device(Base):
    """One edge device as the hub knows it. Created by its first valid birth."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(64))
    boot_id: Mapped[str] = mapped_column(String(64))
    connection: Mapped[int] = mapped_column(Integer, default=0)
    online: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    retired: Mapped[bool] = mapped_column(default=False)
    config_version: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_heartbeat: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    health: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Set by an admin, sent in the retained config (a caller's ``window``).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DeviceEvent(Base):
    """An event as received; (device_id, boot_id, seq) makes replays harmless."""

    __tablename__ = "device_events"
    __table_args__ = (UniqueConstraint("device_id", "boot_id", "seq"),)

    id: Mapped[int] = mapped_column(EventPk, primary_key=True, autoincrement=True)
    # Deliberately no foreign key: an event is a fact worth keeping even when
    # it arrives before the birth or from a device an admin has retired.
    device_id: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(63))
    event_id: Mapped[str] = mapped_column(String(64))
    boot_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    device_ts: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class DeviceCommand(Base):
    """A command the hub sent and how it ended."""

    __tablename__ = "device_commands"

    command_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(63))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deadline: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    round_trip_ms: Mapped[float | None] = mapped_column(Float, default=None)
