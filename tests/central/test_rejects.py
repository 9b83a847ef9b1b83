"""Messages that break the contract are refused, counted, and do not stop the hub."""

from __future__ import annotations

import asyncio
import json

from broker.contract import MAX_PAYLOAD_BYTES
from tests.central.conftest import Hub
from tests.central.fakes import eventually


async def test_bad_messages_are_rejected_by_reason_and_valid_ones_still_get_through(
    hub: Hub,
) -> None:
    kiosk = await hub.device("kiosk-01")
    topic, good = kiosk.event(1)
    wrong_version = json.dumps({**json.loads(good), "v": 2}).encode()
    missing_field = json.dumps({k: v for k, v in json.loads(good).items() if k != "seq"}).encode()

    kiosk.publish_raw(topic, b"{not json")
    kiosk.publish_raw(topic, b"x" * (MAX_PAYLOAD_BYTES + 1))
    kiosk.publish_raw(topic, wrong_version)
    kiosk.publish_raw(topic, missing_field)
    kiosk.publish_raw(hub.topics.event("kiosk-01", "x") + "Y", good)  # a name the contract refuses
    kiosk.publish_raw(topic, good)

    ack = await asyncio.wait_for(kiosk.acks.get(), 5)
    assert ack.seq == 1

    def rejected(reason: str) -> float:
        return hub.metric("anxin_hub_mqtt_messages_rejected_total", reason=reason)

    await eventually(lambda: rejected("unknown_topic") == 1, what="unknown topic counted")
    assert rejected("malformed_json") == 1
    assert rejected("too_large") == 1
    assert rejected("schema_version") == 1
    assert rejected("invalid_payload") == 1

    metrics = (await hub.client.get("/metrics")).text
    assert 'anxin_hub_mqtt_messages_rejected_total{reason="too_large"} 1.0' in metrics
    assert 'anxin_hub_mqtt_messages_received_total{channel="evt"} 1.0' in metrics
    assert "anxin_hub_events_stored_total 1.0" in metrics
