"""`anxin bench signlang-video`: the sign-language terminal's video, end to end
through the hub's signalling.

A private Mosquitto, the hub (`run_hub`, SQLite) in this process, an
interpreter stand-in (`signlang_terminal.standin`: the console's side of the
protocol with an aiortc peer) in this process, and the terminal in a child
process of its own (``python -m bench.signlang_video terminal ...``: the
call controller, the synthetic 640×480 25 fps camera, its own CPU time).
The child presses the button, signs for a while, ends the call and repeats.

- **fps** and **frame latency** of the terminal's video as the interpreter
  receives it, from the capture time drawn into each frame (one clock: same
  machine). Targets: ≥ 25 fps (≥ 24.5 measured), p95 ≤ 150 ms.
- **connect**: button press → first interpreter picture on the terminal
  (request, offer to the interpreter, accept, SDP both ways, ICE, DTLS, first
  decoded frame). Target ≤ 3 s, worst of all calls.
- **terminal CPU** per core (process CPU seconds / wall seconds of the call)
  at 640×480 and at 480×360, reported for a Pi budget; it includes decoding
  the interpreter's 640×480 video and both audio directions.
- **RSS** of the terminal after the first call and after the last one (50
  calls, 10 with ``--quick``), reported: resources must not grow per call.

Both peers find each other by host candidates on a non-loopback interface
(aioice skips 127.0.0.1); the machine needs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Final

log = logging.getLogger(__name__)

FPS_TARGET: Final = 25.0
FPS_MEASURED_MIN: Final = 24.5  # a 2 s window of arrivals at 25 fps reads 24.6–25.2
LATENCY_P95_TARGET_MS: Final = 150.0
CONNECT_TARGET_S: Final = 3.0
DEVICE: Final = "signlang-bench"
SETTLE_S: Final = 1.0
# Memory: codec and pool caches fill during the first calls, then RSS levels
# off; a leak of ours (a peer, a receiver, frames) keeps growing per call.
WARMUP_CALLS: Final = 10
RSS_AT: Final = (1, 2, 5, 10, 25, 50)
LEAK_MIB_PER_CALL_MAX: Final = 0.3  # between the creep seen (≤ 0.2) and one leaked frame (0.46)


# --- the terminal (child process) --------------------------------------------------------


async def _terminal(url: str, size: tuple[int, int], calls: int, talk_s: float) -> dict[str, Any]:
    import psutil

    from signlang_terminal.media.peer import TerminalPeer
    from signlang_terminal.media.tracks import SyntheticVideoTrack, ToneAudioTrack
    from signlang_terminal.terminal import Terminal
    from signlang_terminal.viewmodel import ENDED_SHOW_S, Phase, TerminalViewModel

    def make_peer(on_picture: Any) -> TerminalPeer:
        video = SyntheticVideoTrack(size=size)
        return TerminalPeer(video, ToneAudioTrack(), on_picture=on_picture)

    skipped = [0.0]  # the "call ended" page is skipped, not waited out
    vm = TerminalViewModel(clock=lambda: time.monotonic() + skipped[0])
    terminal = Terminal(vm, make_peer)
    terminal.connect(url)
    me = psutil.Process()
    out: dict[str, Any] = {
        "connect_s": [],
        "cpu_cores": [],
        "rss_mib": [],
        "threads": [],
        "sent_fps": [],
    }
    try:
        await _until(lambda: vm.phase is Phase.IDLE, 15)
        for _ in range(calls):
            vm.press_call()
            await _until(lambda: vm.phase is Phase.IN_CALL, 15)
            t = terminal.times
            assert t.pressed is not None
            assert t.first_frame is not None
            out["connect_s"].append(t.first_frame - t.pressed)
            cpu0, wall0 = sum(me.cpu_times()[:2]), time.monotonic()
            sender = terminal.peer.video.meter if terminal.peer is not None else None
            sent0 = sender.frames if sender is not None else 0
            await asyncio.sleep(talk_s)
            wall = time.monotonic() - wall0
            out["cpu_cores"].append((sum(me.cpu_times()[:2]) - cpu0) / wall)
            out["sent_fps"].append((sender.frames - sent0) / wall if sender is not None else 0.0)
            vm.press_end()
            await _until(lambda: terminal.calls_closed == terminal.calls, 10)
            skipped[0] += ENDED_SHOW_S
            vm.tick()
            out["rss_mib"].append(me.memory_info().rss / 2**20)
            out["threads"].append(threading.active_count())
        await asyncio.sleep(0.5)  # the last peer's close has finished
        out["alive_after_calls"] = _alive()
    finally:
        await terminal.stop()
    return out


def _alive() -> dict[str, int]:
    """Objects of a call still alive with no call running (each should be 0)."""
    from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender

    from signlang_terminal.media.peer import TerminalPeer
    from signlang_terminal.media.receive import AudioMeter, VideoMeter
    from signlang_terminal.media.tracks import PacedVideoTrack, ToneAudioTrack

    gc.collect()
    kinds = (RTCPeerConnection, RTCRtpSender, RTCRtpReceiver, TerminalPeer, VideoMeter,
             AudioMeter, PacedVideoTrack, ToneAudioTrack)  # fmt: skip
    counts = dict.fromkeys((k.__name__ for k in kinds), 0)
    for obj in gc.get_objects():
        for kind in kinds:
            if isinstance(obj, kind):
                counts[kind.__name__] += 1
    return counts


async def _until(check: Any, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        await asyncio.sleep(0.02)


# --- the hall (this process) --------------------------------------------------------------


async def _hall(tmp: Path, runs: list[tuple[str, int, float]]) -> dict[str, Any]:
    from anxin.settings import Settings
    from broker import local
    from broker.signalling import terminal_token
    from central.app import create_app
    from central.auth.models import Role
    from central.auth.service import create_user
    from central.db import make_engine, make_sessionmaker, upgrade_database
    from central.server import run_hub
    from signlang_terminal.signalling import terminal_url
    from signlang_terminal.standin import InterpreterStandIn, console_cookie

    broker, port = local.start_mosquitto(tmp / "mosquitto")
    settings = Settings(
        hall="bench", data_dir=tmp / "hub", mqtt={"host": "127.0.0.1", "port": port},
        hub={"database_url": f"sqlite:///{tmp / 'hub.sqlite3'}", "port": 0,
             "secret_key": "bench-signlang-secret"},
    )  # fmt: skip
    await asyncio.to_thread(upgrade_database, settings)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        user = create_user(session, username="interp", role=Role.INTERPRETER, password="pw-bench-1")  # noqa: S106 - a throwaway bench database
        user.display_name = "基准翻译员"
        session.commit()
    engine.dispose()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    hub = asyncio.ensure_future(run_hub(settings, ready=ready.set_result, app=create_app(settings)))
    standin: InterpreterStandIn | None = None
    try:
        hub_url = await asyncio.wait_for(ready, 20)
        cookie = await console_cookie(hub_url, "interp", "pw-bench-1")
        standin = InterpreterStandIn(hub_url, cookie)
        await standin.start()
        secret = settings.hub.secret_key.get_secret_value()
        url = terminal_url(hub_url, DEVICE, terminal_token(secret, DEVICE))
        results: dict[str, Any] = {}
        for size, calls, talk_s in runs:
            received: list[dict[str, Any]] = []
            watcher = asyncio.ensure_future(_watch(standin, received))
            child = await asyncio.to_thread(_child, url, size, calls, talk_s)
            watcher.cancel()
            results[size] = {"terminal": child, "received": received}
        return results
    finally:
        if standin is not None:
            await standin.stop()
        hub.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hub
        broker.terminate()
        broker.wait(10)


async def _watch(standin: Any, out: list[dict[str, Any]]) -> None:
    """Per call, what the interpreter received in the steady state: from one
    second after the first frame (key frame, jitter buffer) to the end."""
    last: Any = None
    summary: dict[str, Any] | None = None
    mark: tuple[int, int] | None = None
    lag_max = 0.0  # how late this loop (the hub's and the stand-in's) woke up
    while True:
        woke = time.monotonic()
        peer = standin.peer
        if peer is not last:
            if summary is not None:
                out.append(summary)
            summary, mark, lag_max = None, None, 0.0
        last = peer
        meter = peer.video_in if peer is not None else None
        if meter is not None and meter.first_at is not None:
            if mark is None and time.monotonic() - meter.first_at >= SETTLE_S:
                mark = (len(meter.latencies), len(meter.arrivals))
            if mark is not None:
                summary = {
                    "size": meter.size,
                    "fps": _rate(list(meter.arrivals)[mark[1] :]),
                    "latencies": list(meter.latencies)[mark[0] :],
                    "loop_lag_max_ms": round(lag_max * 1000),
                    "fps_from_first": _rate(list(meter.arrivals)),
                }
        await asyncio.sleep(0.1)
        if mark is not None:
            lag_max = max(lag_max, time.monotonic() - woke - 0.1)


def _rate(arrivals: list[float]) -> float:
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    return (len(arrivals) - 1) / span if span > 0 else 0.0


def _child(url: str, size: str, calls: int, talk_s: float) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.signlang_video", "terminal", url, size, str(calls),
            str(talk_s)]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60 + calls * (talk_s + 15))
    if proc.returncode != 0:
        raise RuntimeError(f"terminal failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _figures(results: dict[str, Any], calls: int) -> dict[str, Any]:
    vga = results["640x480"]
    received = [r for r in vga["received"] if r["size"] == [640, 480] or r["size"] == (640, 480)]
    latencies = [v for r in received for v in r["latencies"]]
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else None
    term = vga["terminal"]
    rss = term["rss_mib"]
    metrics: dict[str, Any] = {
        "calls": len(term["connect_s"]),
        "received_fps_min": round(min(r["fps"] for r in received), 2) if received else None,
        "received_fps_per_call": [round(r["fps"], 1) for r in received],
        "received_fps_from_first_frame_min": (
            round(min(r["fps_from_first"] for r in received), 2) if received else None
        ),
        "sent_fps_per_call": [round(v, 1) for v in term["sent_fps"]],
        "hub_loop_lag_max_ms_per_call": [r["loop_lag_max_ms"] for r in received],
        "received_fps_median": (
            round(statistics.median(r["fps"] for r in received), 2) if received else None
        ),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p95_ms": p95,
        "frames_measured": len(latencies),
        "connect_s_median": round(statistics.median(term["connect_s"]), 3),
        "connect_s_max": round(max(term["connect_s"]), 3),
        "terminal_cpu_cores_640x480": round(statistics.median(term["cpu_cores"]), 3),
        "rss_mib_after_first_call": round(rss[0], 1),
        "rss_mib_after_last_call": round(rss[-1], 1),
        "rss_mib_growth_after_first": round(rss[-1] - rss[0], 1),
        "rss_mib_at_call": {n: round(rss[n - 1], 1) for n in RSS_AT if n <= len(rss)},
        "rss_mib_per_call": [round(v, 1) for v in rss],
        "rss_mib_per_call_after_warmup": _slope(rss[min(WARMUP_CALLS, len(rss) // 2) - 1 :]),
        "threads_after_first_call": term["threads"][0],
        "threads_after_last_call": term["threads"][-1],
        "call_objects_alive_after_calls": sum(term["alive_after_calls"].values()),
        "cores": os.cpu_count(),
    }
    if metrics["call_objects_alive_after_calls"]:
        metrics["alive_after_calls"] = term["alive_after_calls"]
    if "480x360" in results:
        mid = results["480x360"]["terminal"]
        metrics["terminal_cpu_cores_480x360"] = round(statistics.median(mid["cpu_cores"]), 3)
    return metrics


def _slope(values: list[float]) -> float | None:
    """MiB per call (Theil–Sen: the median of the slopes between every two
    calls, so one call that caught the heap high does not decide). A leak
    grows linearly; a cache levels off."""
    if len(values) < 3:
        return None
    slopes = [
        (values[j] - values[i]) / (j - i)
        for i in range(len(values))
        for j in range(i + 1, len(values))
    ]
    return round(statistics.median(slopes), 3)


def run(settings: Any, *, quick: bool) -> dict[str, Any]:
    calls = 6 if quick else 50
    talk_s = 3.0 if quick else 4.0
    runs = [("640x480", calls, talk_s), ("480x360", 2 if quick else 5, talk_s)]
    logging.getLogger("aioice").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="anxin-bench-signlang-") as tmp:
        results = asyncio.run(_hall(Path(tmp), runs))
    metrics = _figures(results, calls)
    targets = {
        "received_fps_min": f">= {FPS_MEASURED_MIN} (25 fps sent)",
        "latency_p95_ms": f"<= {LATENCY_P95_TARGET_MS}",
        "connect_s_max": f"<= {CONNECT_TARGET_S}",
        "call_objects_alive_after_calls": "== 0",
        "rss_mib_per_call_after_warmup": f"<= {LEAK_MIB_PER_CALL_MAX} (full run: 50 calls)",
    }
    slope = metrics["rss_mib_per_call_after_warmup"]
    passed = (
        metrics["received_fps_min"] is not None
        and metrics["received_fps_min"] >= FPS_MEASURED_MIN
        and metrics["latency_p95_ms"] is not None
        and metrics["latency_p95_ms"] <= LATENCY_P95_TARGET_MS
        and metrics["connect_s_max"] <= CONNECT_TARGET_S
        and metrics["call_objects_alive_after_calls"] == 0
        and (quick or (slope is not None and slope <= LEAK_MIB_PER_CALL_MAX))
    )
    return {"bench": "signlang-video", "metrics": metrics, "targets": targets, "pass": passed}


def _terminal_main(argv: list[str]) -> None:
    url, size, calls, talk_s = argv[0], argv[1], int(argv[2]), float(argv[3])
    width, height = (int(v) for v in size.split("x"))
    result = asyncio.run(_terminal(url, (width, height), calls, talk_s))
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1:2] == ["terminal"]:
        _terminal_main(sys.argv[2:])
