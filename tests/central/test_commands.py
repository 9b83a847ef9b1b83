"""Commands from the hub reach a device and their results come back to the caller."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from broker.contract import CommandResult, ResultStatus, encode
from central.devices.models import DeviceCommand
from tests.central.conftest import Hub
from tests.central.fakes import eventually


async def _registered(hub: Hub, device_id: str) -> None:
    def online() -> bool:
        snapshot = hub.state.bridge.snapshot(device_id)
        return snapshot is not None and snapshot.online

    await eventually(online, what=f"{device_id} registered online")


def stored_command(hub: Hub, command_id: str) -> DeviceCommand | None:
    with hub.state.sessions() as session:
        return session.scalar(select(DeviceCommand).where(DeviceCommand.command_id == command_id))


async def test_a_command_round_trip_returns_the_devices_result_and_records_it(hub: Hub) -> None:
    await hub.sign_in()
    kiosk = await hub.device("kiosk-01")
    await _registered(hub, "kiosk-01")

    response = await hub.client.post(
        "/api/v1/devices/kiosk-01/commands",
        json={"name": "print_test", "args": {"copies": 1}, "timeout_s": 5},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["data"] == {"pong": True}
    assert kiosk.commands[0].args == {"copies": 1}
    assert kiosk.commands[0].deadline > kiosk.commands[0].issued_at
    await hub.state.bridge.flush()
    row = stored_command(hub, body["command_id"])
    assert row is not None
    assert (row.name, row.status) == ("print_test", "succeeded")
    assert row.round_trip_ms is not None
    assert hub.metric("anxin_hub_command_round_trip_seconds_count") == 1


async def test_a_failed_command_reports_the_devices_reason(mosquitto_hub: Hub) -> None:
    hub = mosquitto_hub
    await hub.device("kiosk-01", answer="fail")
    await _registered(hub, "kiosk-01")

    result = await hub.state.bridge.send_command("kiosk-01", "print_test", {}, 2.0)

    assert result.status == "failed"
    assert result.detail == "打印机缺纸"


async def test_a_command_nobody_answers_is_reported_expired_at_its_deadline(hub: Hub) -> None:
    await hub.sign_in()
    await hub.device("display-01", answer="silent")
    await _registered(hub, "display-01")

    started = asyncio.get_running_loop().time()
    response = await hub.client.post(
        "/api/v1/devices/display-01/commands", json={"name": "ping", "timeout_s": 0.3}
    )

    assert response.status_code == 200
    assert response.json()["status"] == "expired"
    assert 0.3 <= asyncio.get_running_loop().time() - started < 2
    await hub.state.bridge.flush()
    row = stored_command(hub, response.json()["command_id"])
    assert row is not None
    assert row.status == "expired"
    assert hub.metric("anxin_hub_commands_total", status="expired") == 1


async def test_commands_to_unknown_offline_or_retired_devices_are_refused_with_a_reason(
    mosquitto_hub: Hub,
) -> None:
    hub = mosquitto_hub
    await hub.sign_in()

    unknown = await hub.client.post("/api/v1/devices/kiosk-99/commands", json={"name": "ping"})
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "device 'kiosk-99' has not been seen by the hub"

    caller = await hub.device("caller-01")
    await _registered(hub, "caller-01")
    await caller.go_offline()

    async def offline() -> bool:
        return (await hub.device_json("caller-01")).get("online") is False

    await eventually(offline, what="caller-01 offline")
    refused = await hub.client.post("/api/v1/devices/caller-01/commands", json={"name": "ping"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == "device 'caller-01' is offline"

    assert (await hub.client.post("/api/v1/devices/caller-01/retire")).status_code == 200
    retired = await hub.client.post("/api/v1/devices/caller-01/commands", json={"name": "ping"})
    assert retired.status_code == 409
    assert retired.json()["detail"] == "device 'caller-01' is retired"

    bad = await hub.client.post("/api/v1/devices/caller-01/commands", json={"name": "a/#"})
    assert bad.status_code == 422


async def test_a_result_arriving_after_the_deadline_does_not_change_the_expired_record(
    mosquitto_hub: Hub,
) -> None:
    hub = mosquitto_hub
    display = await hub.device("display-01", answer="silent")
    await _registered(hub, "display-01")
    result = await hub.state.bridge.send_command("display-01", "show_text", {}, 0.2)
    assert result.status == "expired"

    late = CommandResult(
        command_id=result.command_id, name="show_text", status=ResultStatus.SUCCEEDED
    )
    display.session.publish(hub.topics.result("display-01"), encode(late))
    await eventually(
        lambda: hub.metric("anxin_hub_mqtt_messages_received_total", channel="result") == 1,
        what="late result received",
    )
    await hub.state.bridge.flush()
    row = stored_command(hub, result.command_id)
    assert row is not None
    assert row.status == "expired"
