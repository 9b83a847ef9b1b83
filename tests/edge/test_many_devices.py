"""Many simulated devices share one process, as in the hall benchmark.

Mosquitto only: amqtt 0.12.1 (the embedded broker) replays retained messages
of *every* subscription in the broker to each connecting client and iterates
that dict across awaits, so simultaneous connects fail with "dictionary
changed size during iteration" and devices see other devices' retained
topics (amqtt/broker.py, `_handle_client_session`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from broker.contract import DeviceKind
from broker.session import Backoff
from edge.health import SystemProbe
from edge.ports.buttons import SimButtons
from edge.runner import make_agent
from tests.conftest import RunningBroker
from tests.edge.support import TinyHub, device_settings, wait_until


async def test_a_hall_of_simulated_devices_in_one_process_comes_online_and_delivers(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    hub = TinyHub(mosquitto)
    await hub.start()
    probe = SystemProbe()
    kinds = list(DeviceKind)
    agents = [
        make_agent(
            device_settings(mosquitto, tmp_path, f"dev-{n:02d}", kinds[n % len(kinds)]),
            probe=probe,
            backoff=Backoff(0.1, 0.5),
            hold_db_open=False,
        )
        for n in range(24)
    ]
    hub.set_online(True)
    try:
        await asyncio.gather(*(a.start() for a in agents))
        await asyncio.wait_for(asyncio.gather(*(a.wait_online() for a in agents)), 10)
        callers = [a for a in agents if a.kind is DeviceKind.CALLER]
        for agent in callers:
            assert isinstance(agent.ports.buttons, SimButtons)
            agent.ports.buttons.press("next")

        await wait_until(
            lambda: all(a.outbox.depth() == 0 for a in callers), what="every press acked"
        )
        assert sorted(d for d, _ in hub.events) == sorted(a.device_id for a in callers)
    finally:
        await asyncio.gather(*(a.stop() for a in agents))
        await hub.stop()
