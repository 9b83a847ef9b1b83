"""A device killed with SIGKILL mid-stream delivers every stored event after restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from broker.contract import DeviceKind
from edge.durable import DurableDb
from edge.outbox import Outbox
from tests.conftest import RunningBroker
from tests.edge.support import TinyHub, wait_until

REPO = Path(__file__).resolve().parents[2]


def device_env(broker: RunningBroker, data_dir: Path, device_id: str) -> dict[str, str]:
    address = broker.address(device_id)
    assert address.password is not None
    return os.environ | {
        "PYTHONPATH": str(REPO),
        "ANXIN_HALL": broker.hall,
        "ANXIN_DATA_DIR": str(data_dir),
        "ANXIN_MQTT__HOST": address.host,
        "ANXIN_MQTT__PORT": str(address.port),
        "ANXIN_MQTT__USERNAME": device_id,
        "ANXIN_MQTT__PASSWORD": address.password,
        "ANXIN_DEVICE__ID": device_id,
        "ANXIN_DEVICE__KIND": DeviceKind.CALLER.value,
        "ANXIN_DEVICE__SIM": "true",
        "ANXIN_DEVICE__HEARTBEAT_S": "0.2",
        "ANXIN_DEVICE__RESEND_S": "0.5",
    }


async def settle(hub: TinyHub, quiet_s: float = 0.5) -> None:
    """Wait until no event has arrived for `quiet_s` (stragglers of the old connection)."""
    seen = -1
    while len(hub.events) != seen:
        seen = len(hub.events)
        await asyncio.sleep(quiet_s)


async def test_events_in_the_outbox_of_a_killed_device_arrive_after_restart_none_lost(
    hub: TinyHub, mqtt_broker: RunningBroker, tmp_path: Path
) -> None:
    env = device_env(mqtt_broker, tmp_path, "caller-01")
    hub.auto_ack = False  # the hub hears events but never confirms them before the cut
    hub.set_online(True)

    pressing = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.edge.device_proc",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert pressing.stdout is not None
    boot_line = await asyncio.wait_for(pressing.stdout.readline(), 15)
    assert boot_line.startswith(b"boot "), boot_line
    first_boot = boot_line.split()[1].decode()
    reported: list[int] = []
    while len(reported) < 30:
        line = await asyncio.wait_for(pressing.stdout.readline(), 5)
        reported.append(int(line.split()[1]))
    pressing.kill()  # SIGKILL: no clean stop, no flush, no offline status
    await pressing.wait()

    stored = Outbox(DurableDb(tmp_path / "devices" / "caller-01" / "device.sqlite3"), boot_id="x")
    survivors = [p.seq for p in stored.pending(10_000)]
    assert survivors == list(range(1, len(survivors) + 1)), "no gaps, in order"
    assert set(reported) <= set(survivors), "everything reported as stored survived"

    await settle(hub)  # what the dead device had already sent is not a redelivery
    hub.events.clear()
    hub.health.clear()
    hub.auto_ack = True
    restarted = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(tmp_path / "device.log").open("wb"),
    )
    try:
        await wait_until(
            lambda: (
                set(hub.seqs("caller-01")) >= set(survivors)
                and any(h.outbox_depth == 0 for _, h in hub.health)
            ),
            within=15,
            what="all survivors delivered and acknowledged",
        )
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(restarted.wait(), 10) == 0

    delivered = hub.seqs("caller-01")
    first_seen = list(dict.fromkeys(delivered))
    assert first_seen[: len(survivors)] == survivors, "delivered in the order emitted"
    assert {e.boot_id for _, e in hub.events} == {first_boot}
    assert stored.depth() == 0
