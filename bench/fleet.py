"""`anxin bench fleet`: command -> result round trip through hub and broker.

For each broker (Mosquitto, then the embedded amqtt broker, in the same run):
start the broker on a free port, 200 simulated devices in a second process,
and the hub's MQTT bridge (with its SQLite writer) in this process; then

- latency: one `ping` command at a time, round robin over the devices,
  timed from `send_command` to the final result (p50 / p99 / max);
- throughput: 50 commands in flight; each command is three MQTT messages
  through the broker (command, `received`, `succeeded`), so messages per
  second = 3 x commands per second.

Target: p99 <= 10 ms on Mosquitto with 200 devices.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from anxin.settings import Settings, load_settings
from broker import local
from broker.contract import ResultStatus

DEVICES = 200
# paho's network loop uses select(), which cannot watch descriptors past 1024;
# each agent holds about seven (socket, wake-up pipe, sqlite files), so the
# fleet runs as several processes, as real devices would each be their own.
PER_PROCESS = 50
P99_TARGET_MS = 10.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _fleet_args(*, port: int, first: int, hall: str, secret: str, workdir: Path) -> list[str]:
    count = min(PER_PROCESS, DEVICES - first)
    return [
        sys.executable, "-m", "bench.fleet_devices", "--port", str(port), "--first", str(first),
        "--count", str(count), "--hall", hall, "--secret", secret,
        "--data-dir", str(workdir / "fleet"),
    ]  # fmt: skip


async def _measure(
    *, broker_kind: str, port: int, secret: str, workdir: Path, quick: bool
) -> dict[str, float]:
    from central.db import make_engine, make_sessionmaker, upgrade_database
    from central.devices.bridge import HubBridge
    from central.metrics import HubMetrics

    hall = "bench"
    settings = load_settings(
        hall=hall,
        data_dir=workdir,
        hub={"secret_key": secret},
        mqtt={"port": port, "keepalive_s": 30},
    )
    upgrade_database(settings)
    engine = make_engine(settings.database_url)
    bridge = HubBridge(settings=settings, sessions=make_sessionmaker(engine), metrics=HubMetrics())
    await bridge.start()
    await bridge.wait_connected(10)

    fleets = [
        await asyncio.create_subprocess_exec(
            *_fleet_args(port=port, first=first, hall=hall, secret=secret, workdir=workdir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for first in range(0, DEVICES, PER_PROCESS)
    ]
    try:
        for fleet in fleets:
            assert fleet.stdout is not None
            line = await asyncio.wait_for(fleet.stdout.readline(), 120)
            if line.strip() != b"ready":
                raise RuntimeError(f"device fleet failed to start ({broker_kind})")
        ids = [f"bench-{i:03d}" for i in range(DEVICES)]
        deadline = time.monotonic() + 30
        while not all((s := bridge.snapshot(i)) is not None and s.online for i in ids):
            if time.monotonic() > deadline:
                raise RuntimeError("not every device came online at the hub")
            await asyncio.sleep(0.1)

        async def ping(device_id: str) -> float:
            t0 = time.perf_counter()
            result = await bridge.send_command(device_id, "ping", timeout_s=5)
            if result.status != ResultStatus.SUCCEEDED:
                raise RuntimeError(f"ping {device_id}: {result.status} {result.detail}")
            return (time.perf_counter() - t0) * 1000

        for i in range(100):  # warm up connections, caches and the writer
            await ping(ids[i % DEVICES])
        n_latency = 600 if quick else 4000
        latencies = [await ping(ids[i % DEVICES]) for i in range(n_latency)]

        n_tput, in_flight = (2000, 50) if quick else (10000, 50)
        queue: asyncio.Queue[str] = asyncio.Queue()
        for i in range(n_tput):
            queue.put_nowait(ids[i % DEVICES])

        async def worker() -> None:
            while not queue.empty():
                await ping(queue.get_nowait())

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed = time.perf_counter() - t0
        await bridge.flush()
    finally:
        for fleet in fleets:
            if fleet.stdin is not None:
                fleet.stdin.close()
        for fleet in fleets:
            try:
                await asyncio.wait_for(fleet.wait(), 30)
            except TimeoutError:
                fleet.kill()
        await bridge.stop()
        engine.dispose()
    commands_per_s = n_tput / elapsed
    return {
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
        "commands": n_latency,
        "commands_per_s": round(commands_per_s, 1),
        "messages_per_s": round(3 * commands_per_s, 1),
    }


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    secret = "bench-secret"  # noqa: S105 - a throwaway broker on loopback
    metrics: dict[str, Any] = {"devices": DEVICES}
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as tmp:
        root = Path(tmp)
        proc, port = local.start_mosquitto(root / "mosquitto")
        try:
            m = asyncio.run(
                _measure(
                    broker_kind="mosquitto",
                    port=port,
                    secret=secret,
                    workdir=root / "m",
                    quick=quick,
                )
            )
        finally:
            proc.terminate()
            proc.wait(10)
        metrics.update({f"mosquitto_{k}": v for k, v in m.items()})

        embedded = local.EmbeddedBrokerThread(hall="bench", secret=secret)
        try:
            e = asyncio.run(
                _measure(
                    broker_kind="embedded",
                    port=embedded.port,
                    secret=secret,
                    workdir=root / "e",
                    quick=quick,
                )
            )
        finally:
            embedded.stop()
        metrics.update({f"embedded_{k}": v for k, v in e.items()})
    targets = {"mosquitto_p99_ms": P99_TARGET_MS}
    return {
        "bench": "fleet",
        "metrics": metrics,
        "targets": targets,
        "pass": metrics["mosquitto_p99_ms"] <= P99_TARGET_MS,
    }
