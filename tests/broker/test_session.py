"""The shared MQTT session: reconnects after a broker restart, without a storm."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from broker import local
from broker.session import Backoff, BrokerAddress, MqttSession
from tests.conftest import start_mosquitto


def test_backoff_grows_to_its_cap_and_spreads_devices_apart() -> None:
    rng = random.Random(7)
    fleet = [Backoff(base_s=0.5, cap_s=8.0, rng=random.Random(rng.random())) for _ in range(200)]
    for attempt in range(8):
        ceiling = min(8.0, 0.5 * 2**attempt)
        delays = [b.next_delay() for b in fleet]
        assert all(0 <= d <= ceiling for d in delays)
        # Full jitter: the hall's retries are spread over the window, not bunched.
        assert max(delays) - min(delays) > 0.8 * ceiling
        assert len({round(d, 4) for d in delays}) > 190
    fleet[0].reset()
    assert fleet[0].next_delay() <= 0.5


async def test_sessions_come_back_after_a_broker_restart_at_spread_out_times(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "mosquitto"
    proc, port = start_mosquitto(workdir)
    reconnects: list[float] = []
    all_back = asyncio.Event()
    sessions: list[MqttSession] = []

    def make(i: int) -> MqttSession:
        session: MqttSession

        def on_connect() -> None:
            if session.connections > 1:
                reconnects.append(time.monotonic())
                if len(reconnects) == len(sessions):
                    all_back.set()

        session = MqttSession(
            client_id=f"dev-{i}", address=BrokerAddress(port=port), subscriptions=[],
            on_message=lambda *_: None, on_connect=on_connect,
        )  # fmt: skip
        return session

    try:
        sessions = [make(i) for i in range(20)]
        for s in sessions:
            await s.start()
        for s in sessions:
            await s.wait_connected(5)
        proc.terminate()
        proc.wait(10)
        await asyncio.sleep(1.0)  # every session has lost its connection and is backing off
        assert not any(s.connected.is_set() for s in sessions)
        proc = await asyncio.to_thread(local.run_mosquitto_config, workdir / "mosquitto.conf")
        await asyncio.wait_for(all_back.wait(), 20)  # every session reconnects on its own
        assert max(reconnects) - min(reconnects) > 0.2, "reconnects are spread, not a storm"
    finally:
        for s in sessions:
            await s.stop()
        proc.terminate()
        proc.wait(10)
