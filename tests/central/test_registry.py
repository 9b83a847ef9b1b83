"""The device registry: devices appear on birth and show heartbeats and going offline."""

from __future__ import annotations

from broker.contract import DeviceKind
from tests.central.conftest import Hub
from tests.central.fakes import eventually


async def test_a_device_appears_on_its_first_birth_with_kind_and_version(hub: Hub) -> None:
    await hub.sign_in()
    assert (await hub.client.get("/api/v1/devices")).json() == []

    await hub.device("caller-07", kind=DeviceKind.CALLER, version="2.3.1", connection=4)

    await eventually(lambda: _online(hub, "caller-07"), what="caller-07 registered")
    device = await hub.device_json("caller-07")
    assert device["kind"] == "caller"
    assert device["kind_label"] == "呼叫器"
    assert device["version"] == "2.3.1"
    assert device["connection"] == 4
    assert device["enabled"] is True
    assert device["last_heartbeat"] is None
    assert hub.metric("anxin_hub_devices_online") == 1


async def _online(hub: Hub, device_id: str) -> bool:
    return (await hub.device_json(device_id)).get("online") is True


async def test_a_heartbeat_updates_last_heartbeat_and_health(hub: Hub) -> None:
    await hub.sign_in()
    kiosk = await hub.device("kiosk-01")
    await eventually(lambda: _online(hub, "kiosk-01"), what="kiosk-01 registered")

    kiosk.publish_health(cpu_percent=12.5)

    async def beat_seen() -> bool:
        return (await hub.device_json("kiosk-01")).get("last_heartbeat") is not None

    await eventually(beat_seen, what="heartbeat stored")
    health = (await hub.device_json("kiosk-01"))["health"]
    assert health["cpu_percent"] == 12.5
    assert health["ports"] == {"printer": "ok"}


async def test_a_device_that_dies_is_shown_offline(hub: Hub) -> None:
    await hub.sign_in()
    kiosk = await hub.device("kiosk-01")
    await eventually(lambda: _online(hub, "kiosk-01"), what="kiosk-01 online")

    await kiosk.go_offline()

    async def offline() -> bool:
        return (await hub.device_json("kiosk-01")).get("online") is False

    await eventually(offline, what="kiosk-01 offline")
    assert hub.metric("anxin_hub_devices_online") == 0


async def test_a_late_will_from_an_earlier_connection_does_not_take_the_device_offline(
    hub: Hub,
) -> None:
    await hub.sign_in()
    kiosk = await hub.device("kiosk-01", connection=8)
    await eventually(lambda: _online(hub, "kiosk-01"), what="kiosk-01 online")

    # The broker delivers the will of connection 7 after connection 8's birth.
    kiosk.publish_status(online=False, connection=7)
    await eventually(
        lambda: hub.metric("anxin_hub_stale_status_ignored_total") == 1, what="stale will seen"
    )
    assert (await hub.device_json("kiosk-01"))["online"] is True

    # The will of the current connection does count.
    kiosk.publish_status(online=False, connection=8)

    async def offline() -> bool:
        return (await hub.device_json("kiosk-01")).get("online") is False

    await eventually(offline, what="kiosk-01 offline")


async def test_an_offline_status_of_a_device_never_seen_does_not_register_it(
    mosquitto_hub: Hub,
) -> None:
    hub = mosquitto_hub
    await hub.sign_in()
    ghost = await hub.device("display-11", kind=DeviceKind.DISPLAY, birth=False)
    ghost.publish_status(online=False)
    await eventually(
        lambda: hub.metric("anxin_hub_mqtt_messages_received_total", channel="status") == 1,
        what="the death received",
    )
    await hub.state.bridge.flush()

    response = await hub.client.get("/api/v1/devices/display-11")
    assert response.status_code == 404
    assert response.json()["detail"] == "device 'display-11' has not been seen by the hub"
