"""A fleet of simulated devices in one process, for `anxin bench fleet`.

Runs apart from the hub so that the two do not share one interpreter lock,
as in a real hall. Prints ``ready`` once every device is connected and stops
when its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from anxin.settings import load_settings
from broker.contract import DeviceKind
from broker.credentials import mqtt_password
from broker.session import BrokerAddress
from edge.health import SystemProbe
from edge.runner import make_agent


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--hall", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    a = p.parse_args()
    settings = load_settings(hall=a.hall, data_dir=a.data_dir, device={"sim": True})
    probe = SystemProbe()
    kinds = list(DeviceKind)
    agents = []
    for i in range(a.first, a.first + a.count):
        dev_id = f"bench-{i:03d}"
        address = BrokerAddress(
            port=a.port, username=dev_id, password=mqtt_password(a.secret, dev_id), keepalive_s=30
        )
        agents.append(
            make_agent(
                settings, device_id=dev_id, kind=kinds[i % len(kinds)], address=address, probe=probe
            )
        )
    for agent in agents:
        await agent.start()
    await asyncio.gather(*(agent.wait_online() for agent in agents))
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the benchmark closes our stdin
    await asyncio.gather(*(agent.stop() for agent in agents))


if __name__ == "__main__":
    asyncio.run(main())
