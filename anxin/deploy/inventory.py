"""The hall inventory: an Ansible YAML inventory the device registry exports and imports.

Layout (``ansible/inventories/demo/hosts.yml`` is an example)::

    all:
      vars: {anxin_hall: demo, ...}
      children:
        anxin_hub:    {hosts: {hub: {ansible_host: ...}}}
        anxin_broker: {hosts: {broker: {...}}}
        anxin_devices:
          children:
            anxin_kiosks:  {vars: {anxin_device_kind: kiosk}, hosts: {kiosk-01: {...}}}
            anxin_callers: ...

A device's inventory host name is its device id. Its variables: ``ansible_host``,
``anxin_window`` (a caller's window, also kept in the registry),
``anxin_transfer_to`` (the service code a caller's transfer button sends a
ticket to, also kept in the registry), ``anxin_location``
(where it stands, for people) and ``anxin_device_ports`` (its hardware, the
``[device.ports]`` table of its settings, checked here with the same models).

The registry keeps a device's id, kind and admin settings (a caller's window
and transfer target);
addresses, locations and hardware live only in the inventory, so an export
takes them from a base inventory when one is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from anxin.settings import PortsSettings, Settings
from broker.contract import DeviceId, DeviceKind
from central.queueing.hallschema import Code

KIND_GROUPS: Final[dict[DeviceKind, str]] = {
    DeviceKind.KIOSK: "anxin_kiosks",
    DeviceKind.CALLER: "anxin_callers",
    DeviceKind.DISPLAY: "anxin_displays",
    DeviceKind.SIGNLANG: "anxin_signlang",
}
HUB_GROUP: Final = "anxin_hub"
BROKER_GROUP: Final = "anxin_broker"
DEVICES_GROUP: Final = "anxin_devices"
# Host variables this module understands; any other host variable (ansible_user, …)
# is carried through unchanged.
_DEVICE_VARS: Final = frozenset(
    {
        "ansible_host",
        "anxin_device_kind",
        "anxin_window",
        "anxin_transfer_to",
        "anxin_location",
        "anxin_device_ports",
    }
)
# A caller's admin settings the inventory carries, by registry key.
_CALLER_SETTINGS: Final = ("window", "transfer_to")


class InventoryInvalid(ValueError):
    """The inventory cannot be used; `problems` names each reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class DeviceEntry(BaseModel):
    """One device of the hall as the inventory describes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: DeviceId
    kind: DeviceKind
    host: str | None = Field(None, description="address Ansible reaches it at (ansible_host)")
    window: int | None = Field(None, ge=1, description="window number (a caller's binding)")
    transfer_to: Code | None = Field(
        None, description="service code a caller's transfer button sends a ticket to"
    )
    location: str | None = Field(None, description="where it stands, for people")
    ports: dict[str, Any] = Field(default_factory=dict, description="[device.ports] settings")
    vars: dict[str, Any] = Field(default_factory=dict, description="other host variables")

    @field_validator("ports")
    @classmethod
    def _ports_are_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        PortsSettings.model_validate(value)  # the agent would refuse them at start otherwise
        return value

    def host_vars(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.host:
            out["ansible_host"] = self.host
        if self.window is not None:
            out["anxin_window"] = self.window
        if self.transfer_to is not None:
            out["anxin_transfer_to"] = self.transfer_to
        if self.location:
            out["anxin_location"] = self.location
        if self.ports:
            out["anxin_device_ports"] = self.ports
        return {**out, **self.vars}


@dataclass
class HallInventory:
    hall: str
    vars: dict[str, Any] = field(default_factory=dict)
    hub: dict[str, dict[str, Any]] = field(default_factory=dict)
    broker: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: list[DeviceEntry] = field(default_factory=list)

    def device(self, device_id: str) -> DeviceEntry | None:
        return next((d for d in self.devices if d.id == device_id), None)


# --- reading and writing the YAML -------------------------------------------------


def parse_inventory(text: str, *, source: str = "inventory") -> HallInventory:
    """Read an Ansible YAML inventory; InventoryInvalid lists every problem."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InventoryInvalid([f"{source}: not YAML: {exc}"]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("all"), dict):
        raise InventoryInvalid([f"{source}: expected a YAML inventory starting with 'all:'"])
    host_vars: dict[str, dict[str, Any]] = {}
    group_vars: dict[str, dict[str, Any]] = {}
    groups: dict[str, set[str]] = {}
    _walk("all", doc["all"], {}, host_vars, group_vars, groups)
    all_vars = dict(doc["all"].get("vars") or {})
    problems: list[str] = []
    hall = all_vars.get("anxin_hall")
    if not isinstance(hall, str) or not hall:
        problems.append(f"{source}: all.vars.anxin_hall (the hall id) is missing")
    devices: list[DeviceEntry] = []
    for host in sorted(groups.get(DEVICES_GROUP, set())):
        merged = {**group_vars.get(host, {}), **host_vars.get(host, {})}
        try:
            devices.append(
                DeviceEntry(
                    id=host,
                    kind=merged.get("anxin_device_kind"),
                    host=merged.get("ansible_host"),
                    window=merged.get("anxin_window"),
                    transfer_to=merged.get("anxin_transfer_to"),
                    location=merged.get("anxin_location"),
                    ports=merged.get("anxin_device_ports") or {},
                    vars={
                        k: v for k, v in host_vars.get(host, {}).items() if k not in _DEVICE_VARS
                    },
                )
            )
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                problems.append(f"{source}: device {host}: {where}: {err['msg']}")
    if problems:
        raise InventoryInvalid(problems)
    return HallInventory(
        hall=str(hall),
        vars=all_vars,
        hub={h: host_vars.get(h, {}) for h in sorted(groups.get(HUB_GROUP, set()))},
        broker={h: host_vars.get(h, {}) for h in sorted(groups.get(BROKER_GROUP, set()))},
        devices=devices,
    )


def _walk(
    name: str,
    node: dict[str, Any] | None,
    inherited: dict[str, Any],
    host_vars: dict[str, dict[str, Any]],
    group_vars: dict[str, dict[str, Any]],
    groups: dict[str, set[str]],
) -> set[str]:
    """Visit one group; returns every host under it (children included)."""
    node = node or {}
    own = {**inherited, **(node.get("vars") or {})}
    members: set[str] = set()
    for host, values in (node.get("hosts") or {}).items():
        host_vars.setdefault(host, {}).update(values or {})
        group_vars.setdefault(host, {}).update(own)
        members.add(host)
    for child, child_node in (node.get("children") or {}).items():
        members |= _walk(child, child_node, own, host_vars, group_vars, groups)
    groups.setdefault(name, set()).update(members)
    return members


def load_inventory(path: Path) -> HallInventory:
    return parse_inventory(path.read_text(encoding="utf-8"), source=str(path))


def render_inventory(inv: HallInventory) -> str:
    """The inventory as YAML, in the layout `parse_inventory` reads."""
    import yaml

    kinds: dict[str, Any] = {}
    for kind, group in KIND_GROUPS.items():
        members = sorted((d for d in inv.devices if d.kind is kind), key=lambda d: d.id)
        kinds[group] = {
            "vars": {"anxin_device_kind": kind.value},
            "hosts": {d.id: d.host_vars() or None for d in members},
        }
    doc = {
        "all": {
            "vars": {**inv.vars, "anxin_hall": inv.hall},
            "children": {
                HUB_GROUP: {"hosts": {h: v or None for h, v in inv.hub.items()}},
                BROKER_GROUP: {"hosts": {h: v or None for h, v in inv.broker.items()}},
                DEVICES_GROUP: {"children": kinds},
            },
        }
    }
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=False)


# --- the registry --------------------------------------------------------------------


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # left alone: an admin retired them
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            return f"nothing imported: {len(self.problems)} problem(s)"
        return (
            f"{len(self.created)} registered, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.retired)} retired (left alone)"
        )


def import_inventory(settings: Settings, inv: HallInventory) -> ImportReport:
    """Register every device of `inv` (kind, and a caller's window and transfer
    target), all or nothing.

    A new device is registered as never seen (offline, no version) until its
    first birth. A device whose registered kind differs is a problem: nothing
    is imported. A retired device stays retired; an admin brings it back.
    """
    from central.db import database_url, make_engine, make_sessionmaker, upgrade_database
    from central.devices import service
    from central.devices.models import Device

    report = ImportReport()
    if inv.hall != settings.hall:
        report.problems.append(
            f"the inventory is for hall {inv.hall!r}, the hub runs {settings.hall!r}"
        )
        return report
    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    try:
        with make_sessionmaker(engine, immediate=True)() as session:
            rows = {d.id: session.get(Device, d.id) for d in inv.devices}
            for d in inv.devices:
                row = rows[d.id]
                if row is not None and row.kind != d.kind.value:
                    report.problems.append(
                        f"device {d.id} is registered as {row.kind}, the inventory says {d.kind}"
                    )
            if report.problems:
                return report
            now = dt.datetime.now(dt.UTC)
            for d in inv.devices:
                row = rows[d.id]
                if row is not None and row.retired:
                    report.retired.append(d.id)
                    continue
                if row is None:
                    row = Device(
                        id=d.id, kind=d.kind.value, version="", boot_id="", connection=0,
                        online=False, enabled=True, retired=False, config_version=0,
                        first_seen=now, status_changed_at=now, settings={},
                    )  # fmt: skip
                    session.add(row)
                    session.flush()
                    report.created.append(d.id)
                wanted = {"window": d.window, "transfer_to": d.transfer_to}
                have = {k: (row.settings or {}).get(k) for k in _CALLER_SETTINGS}
                if d.kind is DeviceKind.CALLER and have != wanted:
                    service.update_settings(session, device_id=d.id, values=wanted)
                    if d.id not in report.created:
                        report.updated.append(d.id)
                elif d.id not in report.created:
                    report.unchanged.append(d.id)
            session.commit()
    finally:
        engine.dispose()
    return report


@dataclass
class ExportResult:
    inventory: HallInventory
    notes: list[str] = field(default_factory=list)


def export_inventory(settings: Settings, base: HallInventory | None = None) -> ExportResult:
    """Every device the registry knows and has not retired, as an inventory.

    With `base`, its hall variables, hub and broker hosts and each device's
    address, location, hardware and other variables are kept; a device of
    `base` the registry does not know yet stays (noted), a retired one is
    dropped (noted).
    """
    from sqlalchemy import select

    from central.db import database_url, make_engine, make_sessionmaker, upgrade_database
    from central.devices.models import Device

    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    try:
        with make_sessionmaker(engine)() as session:
            rows = list(session.scalars(select(Device).order_by(Device.id)))
    finally:
        engine.dispose()
    known = {d.id: d for d in base.devices} if base else {}
    notes: list[str] = []
    devices: list[DeviceEntry] = []
    for row in rows:
        planned = known.pop(row.id, None)
        if row.retired:
            if planned is not None:
                notes.append(f"{row.id}: retired in the registry, left out")
            continue
        kind = DeviceKind(row.kind)
        caller = kind is DeviceKind.CALLER
        window = (row.settings or {}).get("window") if caller else None
        transfer_to = (row.settings or {}).get("transfer_to") if caller else None
        if planned is not None and not caller:
            window, transfer_to = planned.window, planned.transfer_to
        if planned is None:
            notes.append(f"{row.id}: not in the base inventory; set its ansible_host and ports")
        devices.append(
            DeviceEntry(
                id=row.id,
                kind=kind,
                host=planned.host if planned else None,
                window=window,
                transfer_to=transfer_to,
                location=planned.location if planned else None,
                ports=planned.ports if planned else {},
                vars=planned.vars if planned else {},
            )
        )
    for planned in known.values():
        notes.append(f"{planned.id}: in the base inventory, not registered yet (kept)")
        devices.append(planned)
    devices.sort(key=lambda d: d.id)
    inv = HallInventory(
        hall=settings.hall,
        vars=dict(base.vars) if base else {"anxin_hall": settings.hall},
        hub=dict(base.hub) if base else {},
        broker=dict(base.broker) if base else {},
        devices=devices,
    )
    return ExportResult(inv, notes)
