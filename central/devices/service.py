"""Device registry rules, as plain functions over a SQLAlchemy session.

The bridge calls the `apply_*`/`record_*` functions from its writer thread;
the API and pages call the queries and admin actions. Callers commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.settings import Settings
from broker.contract import (
    Command,
    CommandResult,
    DeviceKind,
    DeviceState,
    DeviceStatus,
    Event,
    Health,
    ResultStatus,
)
from central.db import database_url, make_engine, make_sessionmaker
from central.devices import boards
from central.devices.models import Device, DeviceCommand, DeviceEvent

KIND_LABELS: dict[str, str] = {
    DeviceKind.KIOSK: "取号机",
    DeviceKind.CALLER: "呼叫器",
    DeviceKind.DISPLAY: "显示屏",
    DeviceKind.SIGNLANG: "手语终端",
}

FINAL_STATUSES = frozenset(
    {ResultStatus.SUCCEEDED, ResultStatus.FAILED, ResultStatus.REJECTED, ResultStatus.EXPIRED}
)


# Settings an admin may give a device, per kind: name -> (type, label). A
# display's are its board settings (`central.devices.boards`, checked with
# the board's own `display.board.settings.BoardSettings`).
DEVICE_SETTINGS: Final[dict[str, dict[str, tuple[type, str]]]] = {
    DeviceKind.CALLER: {"window": (int, "窗口号"), "transfer_to": (str, "转办业务")},
    # A display's keys and labels are its board settings' (checked by `boards`).
    DeviceKind.DISPLAY: {name: (object, label) for name, label in boards.LABELS.items()},
}


class SettingsInvalid(ValueError):
    """A setting the device's kind does not have, or a value of the wrong kind (Chinese)."""


class DeviceNotFound(LookupError):
    def __init__(self, device_id: str) -> None:
        super().__init__(f"device {device_id!r} has not been seen by the hub")
        self.device_id = device_id


@dataclass(frozen=True)
class DeviceSnapshot:
    """What the bridge keeps in memory to decide on a command without a query."""

    id: str
    kind: str
    online: bool
    enabled: bool
    retired: bool
    config_version: int
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, device: Device) -> DeviceSnapshot:
        return cls(
            device.id,
            device.kind,
            device.online,
            device.enabled,
            device.retired,
            device.config_version,
            dict(device.settings or {}),
        )


class StatusOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    STALE = "stale"
    UNKNOWN = "unknown"  # offline status of a device never born: nothing to record


# --- what devices report -------------------------------------------------------


def apply_status(
    session: Session, *, device_id: str, status: DeviceStatus, now: dt.datetime
) -> tuple[StatusOutcome, Device | None]:
    """Record a birth or a death.

    A death whose connection counter is lower than the stored one belongs to
    an earlier connection (the broker fired the will after the device had
    already reconnected) and is ignored. A birth is only stale when it
    repeats an older counter of the same boot: a new boot may legitimately
    restart the counter (a re-flashed SD card).
    """
    device = session.get(Device, device_id, with_for_update=True)
    online = status.state == DeviceState.ONLINE
    if device is None:
        if not online:
            return StatusOutcome.UNKNOWN, None
        device = Device(
            id=device_id,
            kind=status.kind.value,
            version=status.version,
            boot_id=status.boot_id,
            connection=status.connection,
            online=True,
            enabled=True,
            retired=False,
            config_version=0,
            first_seen=now,
            status_changed_at=now,
        )
        session.add(device)
        session.flush()
        return StatusOutcome.CREATED, device
    if status.connection < device.connection and (not online or status.boot_id == device.boot_id):
        return StatusOutcome.STALE, device
    device.kind = status.kind.value
    device.version = status.version
    device.boot_id = status.boot_id
    device.connection = status.connection
    if device.online != online:
        device.status_changed_at = now
    device.online = online
    return StatusOutcome.UPDATED, device


def apply_health(session: Session, *, device_id: str, health: Health, now: dt.datetime) -> bool:
    """A heartbeat; False for a device that has not been born yet."""
    device = session.get(Device, device_id)
    if device is None:
        return False
    device.last_heartbeat = now
    device.version = health.version
    device.health = health.model_dump(mode="json")
    return True


def record_event(
    session: Session, *, device_id: str, name: str, event: Event, now: dt.datetime
) -> bool:
    """Store an event once; True when new, False for a replay of a stored one."""
    existing = session.scalar(
        select(DeviceEvent.id).where(
            DeviceEvent.device_id == device_id,
            DeviceEvent.boot_id == event.boot_id,
            DeviceEvent.seq == event.seq,
        )
    )
    if existing is not None:
        return False
    row = DeviceEvent(
        device_id=device_id,
        name=name,
        event_id=event.event_id,
        boot_id=event.boot_id,
        seq=event.seq,
        device_ts=event.ts,
        received_at=now,
        data=event.data,
    )
    try:
        # A savepoint: another hub worker may insert the same event between
        # our SELECT and INSERT; the unique constraint decides, not us.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def record_command_issued(session: Session, *, device_id: str, name: str, command: Command) -> None:
    if session.get(DeviceCommand, command.command_id) is not None:
        return  # the result was written first; keep it
    session.add(
        DeviceCommand(
            command_id=command.command_id,
            device_id=device_id,
            name=name,
            args=command.args,
            issued_at=command.issued_at,
            deadline=command.deadline,
            status="sent",
            detail="",
            data={},
        )
    )


def record_command_result(
    session: Session, *, device_id: str, result: CommandResult, round_trip_ms: float | None
) -> bool:
    """Update a command with a result; False for a command the hub never sent."""
    row = session.get(DeviceCommand, result.command_id)
    if row is None or row.device_id != device_id:
        return False
    if row.finished_at is not None:
        return True  # a late duplicate of a final result changes nothing
    row.status = result.status.value
    row.detail = result.detail
    row.data = result.data
    if result.status in FINAL_STATUSES:
        row.finished_at = result.ts
        row.round_trip_ms = round_trip_ms
    return True


# --- what people ask and do -------------------------------------------------------


def list_devices(session: Session) -> list[Device]:
    return list(session.scalars(select(Device).order_by(Device.retired, Device.id)))


def get_device(session: Session, *, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotFound(device_id)
    return device


def count_online(session: Session) -> int:
    query = (
        select(func.count())
        .select_from(Device)
        .where(Device.online.is_(True), Device.retired.is_(False))
    )
    return int(session.scalar(query) or 0)


def snapshots(session: Session) -> list[DeviceSnapshot]:
    return [DeviceSnapshot.of(d) for d in session.scalars(select(Device))]


def set_enabled(session: Session, *, device_id: str, enabled: bool) -> Device:
    """Enable or disable; enabling a retired device also brings it back."""
    device = session.get(Device, device_id, with_for_update=True)
    if device is None:
        raise DeviceNotFound(device_id)
    device.enabled = enabled
    if enabled:
        device.retired = False
    device.config_version += 1
    return device


def update_settings(session: Session, *, device_id: str, values: dict[str, Any]) -> Device:
    """Set (or, with None, remove) admin settings of a device; a new config version.

    Only the settings its kind has (`DEVICE_SETTINGS`) are accepted; a
    window number is a whole number from 1. A display's settings must make a
    board it can show (`boards.check_document`) from what the hall has
    (`boards.hall_problem`).
    """
    device = session.get(Device, device_id, with_for_update=True)
    if device is None:
        raise DeviceNotFound(device_id)
    known = DEVICE_SETTINGS.get(device.kind, {})
    display = device.kind == DeviceKind.DISPLAY
    merged = dict(device.settings or {})
    for name, value in values.items():
        if name not in known:
            kind = KIND_LABELS.get(device.kind, device.kind)
            raise SettingsInvalid(f"{kind}没有“{name}”这项设置")
        wanted, label = known[name]
        if value is None:
            merged.pop(name, None)
            continue
        if display:
            try:
                value = boards.check_value(name, value)
            except ValueError as exc:
                raise SettingsInvalid(str(exc)) from None
        elif wanted is int and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SettingsInvalid(f"{label}应为正整数")
        merged[name] = value
    if display:
        try:
            boards.check_document(merged)
        except ValueError as exc:
            raise SettingsInvalid(str(exc)) from None
        changed = {k: merged[k] for k in values if k in merged}
        problem = boards.hall_problem(session, changed)
        if problem is not None:
            raise SettingsInvalid(problem)
    device.settings = merged
    device.config_version += 1
    return device


def retire(session: Session, *, device_id: str) -> Device:
    device = session.get(Device, device_id, with_for_update=True)
    if device is None:
        raise DeviceNotFound(device_id)
    device.retired = True
    device.enabled = False
    device.config_version += 1
    return device


def recent_commands(session: Session, *, device_id: str, limit: int = 20) -> list[DeviceCommand]:
    query = (
        select(DeviceCommand)
        .where(DeviceCommand.device_id == device_id)
        .order_by(DeviceCommand.issued_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def registered_device_ids(settings: Settings) -> list[str]:
    """Ids of every device the registry knows and has not retired.

    Feeds `anxin broker mosquitto-config --from-registry`: a retired device
    gets no broker credentials, so it cannot come back without an admin.
    """
    engine = make_engine(database_url(settings))
    try:
        with make_sessionmaker(engine)() as session:
            query = select(Device.id).where(Device.retired.is_(False)).order_by(Device.id)
            return list(session.scalars(query))
    finally:
        engine.dispose()
