"""`anxin bench call-latency`: a window's "next" until the hall board shows it.

For SQLite (the one-box hall) and then PostgreSQL: a fresh database with 76
windows, every one signed in, and tickets waiting; a private Mosquitto; the
hub as it is deployed (`anxin hub --workers 2`, the Ansible role's
``hub_workers``); a subscriber on ``hall/window/+``. A press is
``POST /api/v1/queue/windows/{n}/next`` with ``finish_current`` (办结并叫下一位);
its latency runs from just before the client sends the request to the moment
the subscriber's network thread receives that window's retained topic with
the newly called ticket (so it includes the HTTP request, the transaction,
the hall-state publisher and two broker hops; not the HTTP response).

- (a) peak hour: each window presses on its own Poisson schedule; the peak
  hour's calls (76 windows, one call every ~4 minutes each) compressed into
  `PEAK_RATE` calls per second in all. Target p50 ≤ 5 ms, p99 ≤ 15 ms.
- (b) burst: all 76 windows press within 100 ms (uniformly spread), several
  times. Target: every board update received within 150 ms of the first press.

Everything (hub, broker, load generator, subscriber) shares the 2 cores.

Baselines, in the same run, on the same broker with as many workers:
- `bench.nullhub` answers "next" at once and publishes the window's board
  topic with no queue work: the floor of this machine for this path (HTTP,
  the broker's two hops, the load generator and the subscriber);
- `bench.floorhub`, on each database measured, keeps each press as one
  transaction (the window's ticket finished, the oldest waiting one called,
  the events appended) and then publishes the same topic: the thinnest hub
  built as ours is that stores its calls, with nothing else of a queue
  system. ``target_reachable_here`` says whether it meets the targets on
  every database measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import aiohttp
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from anxin.settings import Settings
from bench import floorhub
from bench.queuehub import (
    PATHS,
    WINDOWS,
    api_session,
    bench_settings,
    hall_database,
    hub_env,
    hub_process,
    issue_tokens,
    null_hub_process,
    postgres_database,
)
from broker import local
from broker.contract import Topics

log = logging.getLogger(__name__)

PEAK_RATE: Final = 20.0  # calls per second across the hall
P50_TARGET_MS: Final = 5.0
P99_TARGET_MS: Final = 15.0
BURST_TARGET_MS: Final = 150.0
HUB_WORKERS: Final = 2  # as deployed: ansible/roles/hub/defaults/main.yml
BURST_SPREAD_S: Final = 0.1


class BoardWatch:
    """The subscriber: notes when each window's board first shows a new called ticket."""

    def __init__(self, port: int, hall: str) -> None:
        self.topic_base = Topics(hall).hall_window(1).rsplit("/", 1)[0]
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[float, str | None]] = {}
        self.done: dict[int, float] = {}
        # Who waits for a window's board, woken from the network thread: a
        # waiter that polled would take CPU from the hub on the same cores.
        self._waiters: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = {}
        self.shown: dict[int, str | None] = {}
        self._connected = threading.Event()
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-board")
        c.on_connect = self._on_connect
        c.on_message = self._message
        c.connect("127.0.0.1", port)
        sock = c.socket()
        if isinstance(sock, socket.socket):  # Nagle off, as the hub and devices have it
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.loop_start()
        self._client = c
        if not self._connected.wait(10):
            raise RuntimeError("the board subscriber could not connect")

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(f"{self.topic_base}/+", qos=1)
        self._connected.set()

    def _message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        at = time.perf_counter()
        try:
            window = int(msg.topic.rsplit("/", 1)[1])
            board = json.loads(msg.payload)
        except (ValueError, IndexError):
            return
        ticket = board.get("ticket") if board.get("ticket_state") == "called" else None
        waiter = None
        with self._lock:
            self.shown[window] = ticket
            pending = self._pending.get(window)
            if pending is not None and ticket is not None and ticket != pending[1]:
                del self._pending[window]
                self.done[window] = at - pending[0]
                waiter = self._waiters.pop(window, None)
        if waiter is not None:
            loop, future = waiter
            loop.call_soon_threadsafe(_wake, future)

    def pressing(self, window: int, at: float) -> None:
        with self._lock:
            self._pending[window] = (at, self.shown.get(window))
            self.done.pop(window, None)

    async def result(self, window: int, within_s: float) -> float | None:
        """Seconds from the press to the board; None when not shown within `within_s`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            waiting = window not in self.done
            if waiting:
                self._waiters[window] = (loop, future)
        if waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, within_s)
        with self._lock:
            self._waiters.pop(window, None)
            return self.done.pop(window, None)

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


async def _press(client: aiohttp.ClientSession, watch: BoardWatch, window: int) -> bool:
    """Press "next"; False when the hub refused or failed (counted, not timed)."""
    watch.pressing(window, time.perf_counter())
    path = PATHS.next.format(n=window)
    async with client.post(path, json={"finish_current": "completed"}) as r:
        if r.status >= 400:
            log.warning("window %d: %s %s", window, r.status, (await r.text())[:200])
            return False
        if (await r.json())["ticket"] is None:
            raise RuntimeError(f"window {window} found nobody waiting: issue more tickets")
    return True


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():  # not timed out meanwhile
        future.set_result(None)


async def _wait_for(watch: BoardWatch, window: int, within_s: float = 5.0) -> float:
    """Milliseconds until the board showed the call; inf when it did not within `within_s`."""
    took = await watch.result(window, within_s)
    if took is None:
        log.warning("window %d: no board update within %.0f s", window, within_s)
        return math.inf
    return took * 1000


async def _measure(url: str, watch: BoardWatch, *, calls: int, bursts: int) -> dict[str, Any]:
    async with api_session(url, connections=WINDOWS + 4) as client:
        failures = 0

        async def press_and_wait(window: int, at: float | None = None) -> float:
            nonlocal failures
            if at is not None:
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
            took = (
                await _wait_for(watch, window) if await _press(client, watch, window) else math.inf
            )
            failures += took == math.inf
            return took

        # Warm-up: every window calls once, eight at a time (the burst comes later).
        for group in range(1, WINDOWS + 1, 8):
            await asyncio.gather(
                *(press_and_wait(n) for n in range(group, min(group + 8, WINDOWS + 1)))
            )
        rng = random.Random(7)
        per_window = PEAK_RATE / WINDOWS
        latencies: list[float] = []

        async def poisson(window: int, count: int) -> None:
            for _ in range(count):
                await asyncio.sleep(rng.expovariate(per_window))
                took = await press_and_wait(window)
                if took != math.inf:
                    latencies.append(took)

        counts = [calls // WINDOWS + (1 if i < calls % WINDOWS else 0) for i in range(WINDOWS)]
        t0 = time.perf_counter()
        await asyncio.gather(*(poisson(n, counts[n - 1]) for n in range(1, WINDOWS + 1)))
        peak_s = time.perf_counter() - t0

        spreads: list[float] = []
        for _ in range(bursts):
            await asyncio.sleep(1.0)
            start = time.perf_counter() + 0.05
            offsets = {n: start + rng.uniform(0, BURST_SPREAD_S) for n in range(1, WINDOWS + 1)}
            took = await asyncio.gather(*(press_and_wait(n, at) for n, at in offsets.items()))
            first = min(offsets.values())
            # Each window's reception time, relative to the first press of the burst.
            spreads.append(max((offsets[n] - first) * 1000 + took[n - 1] for n in offsets))
    ordered = sorted(latencies)
    return {
        "peak_calls": len(latencies),
        "peak_calls_per_s": round(len(latencies) / peak_s, 1),
        "peak_p50_ms": round(statistics.median(ordered), 2),
        "peak_p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 2),
        "peak_max_ms": round(ordered[-1], 2),
        "bursts": bursts,
        "burst_all_76_ms_worst": round(max(spreads), 1) if max(spreads) < math.inf else None,
        "failed_presses": failures,  # refused, failed, or never shown on the board
        "burst_all_76_ms_median": round(statistics.median(spreads), 1),
    }


def _one(database_url: str, root: Path, *, calls: int, bursts: int) -> dict[str, Any]:
    hub_settings = bench_settings(database_url, root)
    with hall_database(hub_settings) as sessions:
        # Each window serves 3 of the 6 services: enough waiting for every call.
        issue_tokens(sessions, hub_settings, (calls + WINDOWS * (bursts + 1)) // 3 + 40)

    def hub(port: int) -> contextlib.AbstractContextManager[str]:
        env = hub_env(data_dir=root, database_url=database_url, mqtt_port=port)
        return hub_process(env, workers=HUB_WORKERS, log=root / "hub.log")

    return _pressed(root, hub, calls=calls, bursts=bursts)


def _baseline(root: Path, *, calls: int, bursts: int) -> dict[str, Any]:
    """The null hub's figures for the same presses: this machine's floor."""
    root.mkdir(parents=True, exist_ok=True)

    def null_hub(port: int) -> contextlib.AbstractContextManager[str]:
        return null_hub_process(workers=HUB_WORKERS, log=root / "nullhub.log", mqtt_port=port)

    return _pressed(root, null_hub, calls=calls, bursts=bursts)


def _floor(database_url: str, root: Path, *, calls: int, bursts: int) -> dict[str, Any]:
    """`bench.floorhub`'s figures for the same presses on the same kind of database."""
    root.mkdir(parents=True, exist_ok=True)
    waiting = calls + WINDOWS * (bursts + 1) + 40
    floorhub.create_schema(database_url, seed_per_service=waiting // len(floorhub.service_codes()))

    def floor_hub(port: int) -> contextlib.AbstractContextManager[str]:
        log = root / "floorhub.log"
        return floorhub.served(database_url, workers=HUB_WORKERS, log=log, mqtt_port=port)

    return _pressed(root, floor_hub, calls=calls, bursts=bursts)


def _pressed(
    root: Path,
    server: Callable[[int], contextlib.AbstractContextManager[str]],
    *,
    calls: int,
    bursts: int,
) -> dict[str, Any]:
    """`_measure` against the server `server(broker_port)` starts, on a private broker."""
    proc, port = local.start_mosquitto(root / "mosquitto")
    try:
        with server(port) as url:
            watch = BoardWatch(port, "bench")
            try:
                return asyncio.run(_measure(url, watch, calls=calls, bursts=bursts))
            finally:
                watch.stop()
    finally:
        proc.terminate()
        proc.wait(10)


def _passes(m: dict[str, Any]) -> bool:
    worst = m["burst_all_76_ms_worst"]
    return (
        m["peak_p50_ms"] <= P50_TARGET_MS
        and m["peak_p99_ms"] <= P99_TARGET_MS
        and worst is not None
        and worst <= BURST_TARGET_MS
        and m["failed_presses"] == 0
    )


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    del settings  # every database and broker here is the benchmark's own
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Quick: SQLite only (the one-box hall), fewer calls, one burst.
    calls, bursts = (150, 1) if quick else (1200, 5)
    metrics: dict[str, Any] = {"windows": WINDOWS, "peak_rate_target_per_s": PEAK_RATE}
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as tmp:
        root = Path(tmp)
        base = _baseline(root / "null", calls=calls, bursts=bursts)
        metrics["baseline_null_hub"] = base
        with postgres_database() as pg:
            for name, url in (("sqlite", f"sqlite:///{root / 'hub.sqlite3'}"), ("postgresql", pg)):
                if quick and name == "postgresql":
                    metrics[name] = "skipped: --quick"
                    continue
                if url is None:
                    metrics[name] = "skipped: PostgreSQL unreachable"
                    continue
                metrics[name] = _one(url, root / name, calls=calls, bursts=bursts)
                metrics[name]["floor_hub"] = _floor(
                    floorhub.database_beside(url, root), root / name / "floor",
                    calls=calls, bursts=bursts,
                )  # fmt: skip
    measured = [m for m in (metrics["sqlite"], metrics["postgresql"]) if isinstance(m, dict)]
    metrics["target_reachable_here"] = bool(measured) and all(
        _passes(m["floor_hub"]) for m in measured
    )
    return {
        "bench": "call-latency",
        "metrics": metrics,
        "targets": {
            "peak_p50_ms": P50_TARGET_MS,
            "peak_p99_ms": P99_TARGET_MS,
            "burst_all_76_ms_worst": BURST_TARGET_MS,
            "failed_presses": 0,
        },
        # The one-box hall runs on SQLite: it must meet the targets itself.
        "pass": bool(measured) and all(_passes(m) for m in measured),
    }
