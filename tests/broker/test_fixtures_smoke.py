"""The broker fixtures carry messages end to end (every other test relies on them)."""

from __future__ import annotations

import asyncio

from broker.contract import HubStatus, Topics, decode, encode
from broker.session import MqttSession
from tests.conftest import RunningBroker


async def test_hub_status_published_by_the_hub_reaches_a_device(
    mqtt_broker: RunningBroker,
) -> None:
    topics = Topics(mqtt_broker.hall)
    got: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_message(topic: str, payload: bytes, retained: bool) -> None:
        await got.put(payload)

    hub = MqttSession(
        client_id="hub", address=mqtt_broker.address("hub"), subscriptions=[], on_message=on_message
    )
    device = MqttSession(
        client_id="kiosk-01",
        address=mqtt_broker.address("kiosk-01"),
        subscriptions=topics.device_subscriptions("kiosk-01"),
        on_message=on_message,
    )
    await hub.start()
    await device.start()
    try:
        await hub.wait_connected(5)
        await device.wait_connected(5)
        await asyncio.sleep(0.2)  # let the device's SUBSCRIBE land
        assert hub.publish(topics.hub_status(), encode(HubStatus(online=True)), retain=True)
        raw = await asyncio.wait_for(got.get(), 5)
        msg = decode(topics, topics.hub_status(), raw)
        assert isinstance(msg.payload, HubStatus)
        assert msg.payload.online
    finally:
        await device.stop()
        await hub.stop()
