"""Device registry changes from the command line (`anxin devices …`).

`bind_caller` writes a caller's window binding and transfer target
(``transfer_to``, the service its transfer button sends a ticket to) to the
registry, then publishes the device's retained config itself (as the hub's
MQTT user), so that a caller learns its window even while the hub runs; a
running hub picks the new settings up into its own snapshot at the device's
next birth and publishes them again whenever it reconnects.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from anxin.settings import Settings
from broker.contract import DeviceConfig, DeviceKind, Topics, encode, new_id
from broker.session import MqttSession
from central.db import database_url, make_engine, make_sessionmaker, upgrade_database
from central.devices import service
from central.devices.bridge import hub_address
from central.devices.models import Device
from central.devices.service import DeviceSnapshot


class WindowMissing(LookupError):
    pass


class ServiceMissing(LookupError):
    pass


@dataclass(frozen=True)
class Bound:
    snapshot: DeviceSnapshot
    published: bool  # False: the broker was unreachable; the hub sends it on reconnect


def bind_window(settings: Settings, device_id: str, window: int | None) -> Bound:
    """Bind a caller to a window (None: unbind); see `bind_caller`."""
    return bind_caller(settings, device_id, {"window": window})


def bind_caller(settings: Settings, device_id: str, values: dict[str, Any]) -> Bound:
    """Set a caller's ``window`` and / or ``transfer_to`` (a key left out stays
    as it is; None removes it). Raises `service.DeviceNotFound`,
    `service.SettingsInvalid`, `WindowMissing` or `ServiceMissing` (Chinese
    reasons), changing nothing."""
    from central.queueing.callers import service_exists, window_exists

    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    try:
        with make_sessionmaker(engine)() as session:
            window, target = values.get("window"), values.get("transfer_to")
            if window is not None and not window_exists(session, window):
                raise WindowMissing(f"大厅没有 {window} 号窗口")
            if target is not None and not service_exists(session, target):
                raise ServiceMissing(f"大厅没有业务 {target}")
            device = service.update_settings(session, device_id=device_id, values=values)
            session.commit()
            snap = DeviceSnapshot.of(device)
    finally:
        engine.dispose()
    return Bound(snap, asyncio.run(_publish(settings, snap)))


def configure_display(settings: Settings, device_id: str, values: dict[str, Any]) -> Bound:
    """Change a display's board settings (None: back to the default) and publish
    its config, as `bind_window` does. Raises `service.DeviceNotFound` or
    `service.SettingsInvalid` (Chinese reason), changing nothing."""
    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    try:
        with make_sessionmaker(engine)() as session:
            device = session.get(Device, device_id)
            if device is not None and device.kind != DeviceKind.DISPLAY:
                kind = service.KIND_LABELS.get(device.kind, device.kind)
                raise service.SettingsInvalid(f"设备 {device_id} 是{kind}，不是显示屏")
            device = service.update_settings(session, device_id=device_id, values=values)
            session.commit()
            snap = DeviceSnapshot.of(device)
    finally:
        engine.dispose()
    return Bound(snap, asyncio.run(_publish(settings, snap)))


async def _publish(settings: Settings, snap: DeviceSnapshot, within_s: float = 5.0) -> bool:
    async def ignore(_topic: str, _payload: bytes, _retained: bool) -> None:
        return None

    mqtt = MqttSession(
        client_id=f"anxin-cli-{new_id()[:8]}",
        address=hub_address(settings),
        subscriptions=[],
        on_message=ignore,
    )
    config = DeviceConfig(
        config_version=snap.config_version, enabled=snap.enabled, settings=snap.settings
    )
    await mqtt.start()
    try:
        await mqtt.wait_connected(within_s)
    except TimeoutError:
        await mqtt.stop()
        return False
    await mqtt.stop(final=(Topics(settings.hall).config(snap.id), encode(config)))
    return True
