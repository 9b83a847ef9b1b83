"""`anxin bench ticket-print`: a kiosk tap until the ticket's bytes are at the printer.

A fresh SQLite hall (the queue benchmarks' 76-window hall, open all day), a
private Mosquitto, the hub as ``anxin hub`` (one process), and a simulated
kiosk agent in this process with the printer package's `TicketPrinter` on a
file transport (every job appended and fsynced, as on ``/dev/usb/lp0``).
A tap is ``Kiosk.take(service)`` followed by ``print_ticket``; its latency runs
from the tap to the moment the transport has accepted the last byte.

- **online**: the ticket comes from the hub over MQTT (request → issue →
  answer), then is rendered and written. Target p99 ≤ 300 ms.
- **offline**: the hub is stopped (its retained status says offline); the
  kiosk issues from its reserved block, journals the ticket (SQLite,
  ``synchronous=FULL``) and hands it to the outbox before printing. Target
  p99 ≤ 100 ms.
- **memory**: the resident set of a separate ``anxin device kiosk --sim``
  process, online with its blocks (reported, no target).

Everything (hub, broker, kiosk, the measuring loop) shares the box's cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import psutil

from anxin.settings import Settings
from bench.queuehub import (
    SECRET,
    SERVICES,
    bench_settings,
    hall_database,
    hub_env,
    hub_process,
    service_code,
)
from broker import local
from broker.credentials import mqtt_password

log = logging.getLogger(__name__)

ONLINE_P99_TARGET_MS: Final = 300.0
OFFLINE_P99_TARGET_MS: Final = 100.0
GAP_S: Final = 0.01


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def _kiosk_settings(data_dir: Path, port: int, device_id: str) -> Settings:
    return Settings(
        hall="bench",
        data_dir=data_dir,
        mqtt={"host": "127.0.0.1", "port": port, "username": device_id,
              "password": mqtt_password(SECRET, device_id)},
        device={"id": device_id, "kind": "kiosk", "sim": True},
        kiosk={"request_timeout_s": 1.0},
    )  # fmt: skip


async def _taps(kiosk: Any, printer: Any, count: int, *, hall_name: str) -> dict[str, Any]:
    from edge.kinds.kiosk_api import TicketRefused
    from edge.kinds.kiosk_control import ticket_content

    rng = random.Random(7)
    codes = [service_code(p) for p in SERVICES]
    latencies: list[float] = []
    offline = refused = failed = 0
    for _ in range(count):
        started = time.perf_counter()
        try:
            ticket = await kiosk.take(rng.choice(codes))
        except TicketRefused:
            refused += 1
            continue
        outcome = printer.print_ticket(ticket_content(ticket, hall_name))
        latencies.append((time.perf_counter() - started) * 1000)
        offline += ticket.offline
        failed += not outcome.ok
        await asyncio.sleep(GAP_S)
    return {
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(_percentile(latencies, 99), 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "tickets": len(latencies),
        "offline": offline,
        "refused": refused,
        "print_failed": failed,
    }


async def _wait(check: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _rss_of_kiosk_process(env: dict[str, str], data_dir: Path, port: int) -> float:
    """Resident MiB of ``anxin device kiosk --sim`` once it is online with its blocks."""
    env = {**env, "ANXIN_DATA_DIR": str(data_dir), "ANXIN_MQTT__PORT": str(port)}
    env.pop("ANXIN_HUB__DATABASE_URL", None)
    args = [sys.executable, "-m", "anxin", "device", "kiosk", "--id", "kiosk-rss", "--sim"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pointer = data_dir / "devices" / "kiosk-rss" / "kiosk.sqlite3"
        deadline = time.monotonic() + 20
        while not pointer.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3.0)  # connected, blocks stored, a few heartbeats
        return float(psutil.Process(proc.pid).memory_info().rss) / 2**20
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _measure(tmp: Path, *, quick: bool) -> dict[str, Any]:
    from broker.session import Backoff
    from edge.kinds.kiosk import ticket_source
    from edge.runner import make_agent
    from printer.service import TicketPrinter
    from printer.settings import PrinterSettings

    count = 200 if quick else 1000
    block = min(500, count // 2)  # per service: taps are spread over six services
    settings = bench_settings(f"sqlite:///{tmp / 'hub.sqlite3'}", tmp / "hub")
    with hall_database(settings):
        pass
    broker_proc, port = local.start_mosquitto(tmp / "mosquitto")
    agent = None
    try:
        env = hub_env(data_dir=tmp / "hub", database_url=settings.database_url, mqtt_port=port)
        env |= {"ANXIN_KIOSK__OFFLINE_BLOCK": str(block), "ANXIN_KIOSK__REPLENISH_S": "1"}
        kiosk_settings = _kiosk_settings(tmp / "kiosk", port, "kiosk-01")
        agent = make_agent(kiosk_settings, backoff=Backoff(0.1, 1.0))
        await agent.start()
        kiosk = ticket_source("kiosk-01")
        printer_file = tmp / "printer.bin"
        printer = TicketPrinter(PrinterSettings(transport="file", path=printer_file))
        kiosk.attach_printer(lambda: printer.state().value)
        with hub_process(env, workers=1, log=tmp / "hub.log"):
            await _wait(lambda: kiosk.online, 30, "the kiosk to see the hub")
            await kiosk.take("svc_a")  # the hub's first request opens its connections
            today = kiosk.today()
            await _wait(
                lambda: bool(kiosk.today())
                and all(kiosk.journal.unused(service_code(p), kiosk.today()) >= block
                        for p in SERVICES),
                30,
                "blocks at the kiosk",
            )  # fmt: skip
            online = await _taps(kiosk, printer, count, hall_name=kiosk_settings.hall_name)
            rss = await asyncio.to_thread(_rss_of_kiosk_process, env, tmp / "kiosk-rss", port)
        await _wait(lambda: not kiosk.online, 15, "the kiosk to notice the hub is gone")
        offline = await _taps(kiosk, printer, count, hall_name=kiosk_settings.hall_name)
        printed = printer_file.stat().st_size if printer_file.exists() else 0
    finally:
        if agent is not None:
            await agent.stop()
            with contextlib.suppress(LookupError):
                ticket_source("kiosk-01").close()
        broker_proc.terminate()
        broker_proc.wait(10)
    return {
        "online": online,
        "offline": offline,
        "kiosk_rss_mib": round(rss, 1),
        "printer_bytes": printed,
        "day": today,
    }


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    del settings  # everything runs in a private directory
    with tempfile.TemporaryDirectory(prefix="anxin-ticket-print-") as tmp:
        figures = asyncio.run(_measure(Path(tmp), quick=quick))
    online, offline = figures["online"], figures["offline"]
    metrics = {
        "online_p50_ms": online["p50_ms"],
        "online_p99_ms": online["p99_ms"],
        "online_max_ms": online["max_ms"],
        "online_tickets": online["tickets"],
        "online_fell_back_offline": online["offline"],
        "offline_p50_ms": offline["p50_ms"],
        "offline_p99_ms": offline["p99_ms"],
        "offline_max_ms": offline["max_ms"],
        "offline_tickets": offline["tickets"],
        "offline_from_hub": offline["tickets"] - offline["offline"],
        "refused": online["refused"] + offline["refused"],
        "print_failed": online["print_failed"] + offline["print_failed"],
        "kiosk_rss_mib": figures["kiosk_rss_mib"],
        "printer_bytes": figures["printer_bytes"],
        "printer": "printer.service.TicketPrinter (file transport)",
        "cpus": os.cpu_count(),
    }
    targets = {"online_p99_ms": ONLINE_P99_TARGET_MS, "offline_p99_ms": OFFLINE_P99_TARGET_MS}
    ok = (
        online["p99_ms"] is not None
        and offline["p99_ms"] is not None
        and online["p99_ms"] <= ONLINE_P99_TARGET_MS
        and offline["p99_ms"] <= OFFLINE_P99_TARGET_MS
        and online["offline"] == 0
        and offline["tickets"] == offline["offline"]
        and metrics["refused"] == 0
        and metrics["print_failed"] == 0
    )
    return {"bench": "ticket-print", "metrics": metrics, "targets": targets, "pass": ok}
