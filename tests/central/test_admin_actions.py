"""An admin enables, disables and retires devices; devices hear it through their config."""

from __future__ import annotations

import asyncio

from broker.contract import Topics
from broker.session import MqttSession
from central.devices.service import registered_device_ids
from tests.central.conftest import Hub
from tests.central.fakes import FakeDevice, eventually


async def _online(hub: Hub, device_id: str) -> None:
    def online() -> bool:
        snapshot = hub.state.bridge.snapshot(device_id)
        return snapshot is not None and snapshot.online

    await eventually(online, what=f"{device_id} online")


async def test_disabling_and_enabling_sends_the_device_a_new_config_version(hub: Hub) -> None:
    await hub.sign_in()
    kiosk = await hub.device("kiosk-01")
    await _online(hub, "kiosk-01")

    disabled = await hub.client.post("/api/v1/devices/kiosk-01/disable")
    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    await eventually(lambda: len(kiosk.configs) == 1, what="config delivered")
    assert (kiosk.configs[0].enabled, kiosk.configs[0].config_version) == (False, 1)

    enabled = await hub.client.post("/api/v1/devices/kiosk-01/enable")
    assert enabled.json()["enabled"] is True
    await eventually(lambda: len(kiosk.configs) == 2, what="second config delivered")
    assert (kiosk.configs[1].enabled, kiosk.configs[1].config_version) == (True, 2)


async def _retained(hub: Hub, topics: list[str]) -> list[str]:
    """Topics among `topics` that hold a retained message right now."""
    assert hub.broker is not None
    seen: list[str] = []

    def on_message(topic: str, payload: bytes, retained: bool) -> None:
        # Filtered here too: amqtt 0.12 also hands out unrelated retained topics.
        if retained and payload and topic in topics:
            seen.append(topic)

    observer = MqttSession(
        client_id="observer",
        address=hub.broker.address("hub"),
        subscriptions=[(t, 1) for t in topics],
        on_message=on_message,
    )
    await observer.start()
    await observer.wait_connected(5)
    await asyncio.sleep(0.3)  # retained messages arrive right after SUBACK
    await observer.stop()
    return seen


async def test_retiring_clears_retained_topics_and_a_returning_device_stays_disabled(
    hub: Hub,
) -> None:
    assert hub.broker is not None
    await hub.sign_in()
    topics = Topics(hub.settings.hall)
    kiosk = await hub.device("kiosk-01", connection=3)
    await _online(hub, "kiosk-01")
    await hub.client.post("/api/v1/devices/kiosk-01/disable")
    await eventually(lambda: len(kiosk.configs) == 1, what="config delivered")

    retired = await hub.client.post("/api/v1/devices/kiosk-01/retire")
    assert retired.status_code == 200
    assert (retired.json()["retired"], retired.json()["enabled"]) == (True, False)
    # MQTT orders nothing across clients: wait until the clears went through
    # the broker (the kiosk listens on both topics) before a new client looks.
    cleared = {topics.status("kiosk-01"), topics.config("kiosk-01")}
    await eventually(lambda: kiosk.cleared == cleared, what="retained topics cleared")
    await kiosk.stop()  # a clean stop sends no will: the status stays cleared
    assert await _retained(hub, [topics.status("kiosk-01"), topics.config("kiosk-01")]) == []

    # The same Pi is plugged in again weeks later.
    back = await hub.device("kiosk-01", connection=4)
    await eventually(lambda: len(back.configs) >= 1, what="disabled config re-sent")
    assert back.configs[-1].enabled is False
    device = await hub.device_json("kiosk-01")
    assert (device["online"], device["retired"], device["enabled"]) == (True, True, False)
    # ... and gets no broker credentials when the Mosquitto files are regenerated.
    assert await asyncio.to_thread(registered_device_ids, hub.settings) == []

    # Only an admin's enable brings it back into service.
    enabled = (await hub.client.post("/api/v1/devices/kiosk-01/enable")).json()
    assert (enabled["retired"], enabled["enabled"]) == (False, True)
    await eventually(lambda: back.configs[-1].enabled, what="enabled config delivered")


async def test_admin_actions_on_a_device_never_seen_answer_404(mosquitto_hub: Hub) -> None:
    hub = mosquitto_hub
    await hub.sign_in()
    for action in ("enable", "disable", "retire"):
        response = await hub.client.post(f"/api/v1/devices/kiosk-42/{action}")
        assert response.status_code == 404
        assert "kiosk-42" in response.json()["detail"]


async def test_a_restarted_broker_gets_the_configs_again_from_the_hub(mosquitto_hub: Hub) -> None:
    """The hub re-publishes configs on every connect: the database is the truth."""
    hub = mosquitto_hub
    await hub.sign_in()
    kiosk = await hub.device("kiosk-01")
    await _online(hub, "kiosk-01")
    await hub.client.post("/api/v1/devices/kiosk-01/disable")
    await eventually(lambda: len(kiosk.configs) == 1, what="config delivered")
    assert isinstance(kiosk, FakeDevice)

    await hub.state.bridge._on_connect()  # what a reconnect does

    await eventually(lambda: len(kiosk.configs) == 2, what="config re-sent")
    assert kiosk.configs[1].config_version == 1
