"""Database writes queued by the bridge and applied in batches by its writer.

Each write is a frozen record with `apply(session, now)`, returning what the
bridge needs afterwards on the event loop (ack or not, the new device state).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from broker.contract import Command, CommandResult, DeviceStatus, Event, Health
from central.devices import service
from central.devices.models import DeviceCommand
from central.devices.service import FINAL_STATUSES, DeviceSnapshot, StatusOutcome


@dataclass(frozen=True)
class StatusWrite:
    device_id: str
    status: DeviceStatus

    def apply(
        self, session: Session, now: dt.datetime
    ) -> tuple[StatusOutcome, DeviceSnapshot | None]:
        outcome, device = service.apply_status(
            session, device_id=self.device_id, status=self.status, now=now
        )
        return outcome, DeviceSnapshot.of(device) if device is not None else None


@dataclass(frozen=True)
class HealthWrite:
    device_id: str
    health: Health

    def apply(self, session: Session, now: dt.datetime) -> bool:
        return service.apply_health(session, device_id=self.device_id, health=self.health, now=now)


@dataclass(frozen=True)
class EventWrite:
    device_id: str
    name: str
    event: Event

    def apply(self, session: Session, now: dt.datetime) -> bool:
        return service.record_event(
            session, device_id=self.device_id, name=self.name, event=self.event, now=now
        )


@dataclass(frozen=True)
class CommandIssued:
    device_id: str
    name: str
    command: Command

    def apply(self, session: Session, now: dt.datetime) -> None:
        service.record_command_issued(
            session, device_id=self.device_id, name=self.name, command=self.command
        )


@dataclass(frozen=True)
class CommandFinished:
    device_id: str
    result: CommandResult
    round_trip_ms: float | None

    def apply(self, session: Session, now: dt.datetime) -> bool:
        return service.record_command_result(
            session,
            device_id=self.device_id,
            result=self.result,
            round_trip_ms=self.round_trip_ms,
        )


Write = StatusWrite | HealthWrite | EventWrite | CommandIssued | CommandFinished
CommandWrite = CommandIssued | CommandFinished


def apply_command_writes(session: Session, writes: list[CommandWrite]) -> None:
    """Commands of one batch in two bulk statements instead of an ORM object each.

    Under load (hundreds of commands a second) the ORM's per-row work held the
    GIL long enough to slow down the event loop resolving results. A result
    that arrives in the same batch as its command folds into the INSERT.
    """
    rows: dict[str, dict[str, Any]] = {}
    updates: list[dict[str, Any]] = []
    for w in writes:
        if isinstance(w, CommandIssued):
            c = w.command
            rows[c.command_id] = {
                "command_id": c.command_id,
                "device_id": w.device_id,
                "name": w.name,
                "args": c.args,
                "issued_at": c.issued_at,
                "deadline": c.deadline,
                "status": "sent",
                "detail": "",
                "data": {},
                "finished_at": None,
                "round_trip_ms": None,
            }
            continue
        values = _result_values(w)
        row = rows.get(w.result.command_id)
        if row is not None and row["device_id"] == w.device_id:
            if row["finished_at"] is None:
                row.update(values)
        else:
            updates.append({"cid": w.result.command_id, "dev": w.device_id, **values})
    if rows:
        session.execute(insert(DeviceCommand), list(rows.values()))
    final = [u for u in updates if u["finished_at"] is not None]
    progress = [u for u in updates if u["finished_at"] is None]
    for group in (final, progress):
        if group:
            session.connection().execute(
                _UPDATE.values(**{k: bindparam(k) for k in _result_keys(group[0])}), group
            )


def _result_values(w: CommandFinished) -> dict[str, Any]:
    r = w.result
    final = r.status in FINAL_STATUSES
    values: dict[str, Any] = {"status": r.status.value, "detail": r.detail, "data": r.data}
    values["finished_at"] = r.ts if final else None
    values["round_trip_ms"] = w.round_trip_ms if final else None
    return values


def _result_keys(update: dict[str, Any]) -> list[str]:
    keys = ["status", "detail", "data"]
    if update["finished_at"] is not None:
        keys += ["finished_at", "round_trip_ms"]
    return keys


# A late result never overwrites a final one (an expiry, or the first answer).
_COMMANDS = cast(Table, DeviceCommand.__table__)
_UPDATE = (
    update(_COMMANDS)
    .where(_COMMANDS.c.command_id == bindparam("cid"))
    .where(_COMMANDS.c.device_id == bindparam("dev"))
    .where(_COMMANDS.c.finished_at.is_(None))
)
