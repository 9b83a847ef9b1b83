"""A device tells the hall whether it is there: birth, will, heartbeat, rebirth."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path

from broker.contract import DeviceKind, DeviceState, DeviceStatus
from edge.runner import make_agent
from tests.conftest import RunningBroker
from tests.edge.conftest import StartDevice
from tests.edge.support import TinyHub, device_settings, wait_until


async def test_device_comes_online_with_its_kind_version_and_connection(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device("kiosk-01", DeviceKind.KIOSK)

    await wait_until(lambda: hub.last_status("kiosk-01") is not None, what="birth")
    status = hub.last_status("kiosk-01")
    assert status is not None
    assert status.state is DeviceState.ONLINE
    assert status.kind is DeviceKind.KIOSK
    assert status.connection == agent.connection == 1
    assert status.boot_id == agent.boot_id
    assert status.version == agent.version


async def test_heartbeat_reports_version_outbox_depth_and_ports(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device("caller-01")
    agent.emit("button", {"button": "next"})  # the hub is not online: it stays queued

    await wait_until(
        lambda: any(h.outbox_depth == 1 for _, h in hub.health), what="heartbeat with depth 1"
    )
    health = hub.health[-1][1]
    assert health.version == agent.version
    assert set(health.ports) == {"buttons", "led", "digits"}
    assert 0 <= health.memory_percent <= 100


async def test_stale_will_after_reconnect_does_not_leave_the_device_offline(
    hub: TinyHub, start_device: StartDevice, mqtt_broker: RunningBroker
) -> None:
    first = await start_device("caller-01")
    await first.stop()
    agent = await start_device("caller-01")
    assert agent.connection == 2
    status_topic = hub.topics.status("caller-01")
    # The broker notices connection 1's dead socket late and publishes its will
    # after our birth: the retained status now says offline.
    stale = DeviceStatus(
        state=DeviceState.OFFLINE,
        kind=DeviceKind.CALLER,
        connection=1,
        boot_id="old",
        version="0",
    )
    hub.publish(status_topic, stale, retain=True)

    await wait_until(
        lambda: (
            hub.statuses[-1][1].connection == 2
            and hub.statuses[-1][1].state is DeviceState.ONLINE
            and any(s == stale for _, s in hub.statuses)
        ),
        what="rebirth after the stale will",
    )
    # Someone who looks only now (a dashboard opened later) sees it online.
    late = TinyHub(mqtt_broker)
    await late.start()
    try:
        await wait_until(lambda: late.last_status("caller-01") is not None, what="retained")
        retained = late.last_status("caller-01")
        assert retained is not None
        assert (retained.state, retained.connection) == (DeviceState.ONLINE, 2)
    finally:
        await late.stop()


async def test_clean_stop_publishes_offline_with_the_same_connection(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device("display-01", DeviceKind.DISPLAY)
    await wait_until(lambda: hub.last_status("display-01") is not None, what="birth")

    await agent.stop()

    await wait_until(
        lambda: (s := hub.last_status("display-01")) is not None and s.state is DeviceState.OFFLINE,
        what="explicit offline",
    )
    status = hub.last_status("display-01")
    assert status is not None
    assert status.connection == agent.connection


async def test_a_running_agent_keeps_its_heap_settled_and_says_goodbye_when_cancelled(
    hub: TinyHub, mqtt_broker: RunningBroker, tmp_path: Path
) -> None:
    # `run` is what a Pi runs for months: its start-up heap is frozen so no
    # full collection stalls a press, and cancelling it stops cleanly.
    agent = make_agent(device_settings(mqtt_broker, tmp_path, "caller-07", DeviceKind.CALLER))
    running = asyncio.create_task(agent.run())
    await asyncio.wait_for(agent.wait_online(), 5)
    await wait_until(lambda: gc.get_freeze_count() > 0, what="the heap settled")

    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running

    assert gc.get_freeze_count() == 0
    await wait_until(
        lambda: (s := hub.last_status("caller-07")) is not None and s.state is DeviceState.OFFLINE,
        what="explicit offline",
    )


async def test_events_wait_for_the_hub_and_then_arrive_in_order(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device("caller-01")
    for n in range(5):
        agent.emit("button", {"n": n})
    await asyncio.sleep(0.5)
    assert hub.events == [], "nothing is sent while the hub is not online"

    hub.set_online(True)

    await wait_until(lambda: agent.outbox.depth() == 0, what="all events acknowledged")
    assert hub.seqs("caller-01")[:5] == [1, 2, 3, 4, 5]
    assert [e.data["n"] for _, e in hub.events[:5]] == [0, 1, 2, 3, 4]


async def test_hub_going_offline_pauses_delivery(hub: TinyHub, start_device: StartDevice) -> None:
    agent = await start_device("caller-01")
    hub.set_online(True)
    await wait_until(lambda: agent.hub_online, what="hub online seen")
    hub.set_online(False)
    await wait_until(lambda: not agent.hub_online, what="hub offline seen")

    agent.emit("button", {})
    await asyncio.sleep(0.5)

    assert hub.events == []
    assert agent.outbox.depth() == 1
