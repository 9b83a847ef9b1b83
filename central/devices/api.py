"""REST API of the device registry, under /api/v1/devices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from broker.contract import CommandResult, DeviceId, Name, ResultStatus
from central.deps import CsrfChecked, DeviceAdmin, DeviceViewer, SessionDep
from central.devices import service
from central.devices.models import Device
from central.devices.service import KIND_LABELS
from central.state import StateDep

router = APIRouter(prefix="/api/v1/devices", tags=["devices"], dependencies=[CsrfChecked])


class DeviceOut(BaseModel):
    id: str
    kind: str
    kind_label: str = Field(description="the kind as people call it (Chinese)")
    version: str
    online: bool
    enabled: bool
    retired: bool
    connection: int
    boot_id: str
    config_version: int
    first_seen: dt.datetime
    status_changed_at: dt.datetime
    last_heartbeat: dt.datetime | None
    health: dict[str, Any] | None

    @classmethod
    def of(cls, d: Device) -> DeviceOut:
        return cls(
            id=d.id,
            kind=d.kind,
            kind_label=KIND_LABELS.get(d.kind, d.kind),
            version=d.version,
            online=d.online,
            enabled=d.enabled,
            retired=d.retired,
            connection=d.connection,
            boot_id=d.boot_id,
            config_version=d.config_version,
            first_seen=d.first_seen,
            status_changed_at=d.status_changed_at,
            last_heartbeat=d.last_heartbeat,
            health=d.health,
        )


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="command name, e.g. ping")
    args: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float | None = Field(
        None, gt=0, le=300, description="deadline; the hub's default when omitted"
    )


class CommandOut(BaseModel):
    command_id: str
    name: str
    status: ResultStatus
    detail: str
    data: dict[str, Any]
    ts: dt.datetime

    @classmethod
    def of(cls, r: CommandResult) -> CommandOut:
        return cls(
            command_id=r.command_id,
            name=r.name,
            status=r.status,
            detail=r.detail,
            data=r.data,
            ts=r.ts,
        )


@router.get("")
def list_devices(db: SessionDep, _user: DeviceViewer) -> list[DeviceOut]:
    return [DeviceOut.of(d) for d in service.list_devices(db)]


@router.get("/{device_id}", responses={404: {"description": "device not seen yet"}})
def get_device(device_id: DeviceId, db: SessionDep, _user: DeviceViewer) -> DeviceOut:
    return DeviceOut.of(service.get_device(db, device_id=device_id))


@router.post(
    "/{device_id}/commands",
    responses={
        404: {"description": "device not seen yet"},
        409: {"description": "device retired or offline"},
        503: {"description": "hub not connected to the broker"},
    },
)
async def send_command(
    device_id: DeviceId, body: CommandIn, state: StateDep, _user: DeviceViewer
) -> CommandOut:
    """Send a command and wait for its final result (``expired`` after the deadline)."""
    result = await state.bridge.send_command(device_id, body.name, body.args, body.timeout_s)
    return CommandOut.of(result)


@router.post("/{device_id}/enable")
async def enable(device_id: DeviceId, state: StateDep, _user: DeviceAdmin) -> DeviceOut:
    return DeviceOut.of(await state.bridge.set_enabled(device_id, enabled=True))


@router.post("/{device_id}/disable")
async def disable(device_id: DeviceId, state: StateDep, _user: DeviceAdmin) -> DeviceOut:
    return DeviceOut.of(await state.bridge.set_enabled(device_id, enabled=False))


@router.post("/{device_id}/retire")
async def retire(device_id: DeviceId, state: StateDep, _user: DeviceAdmin) -> DeviceOut:
    return DeviceOut.of(await state.bridge.retire(device_id))
