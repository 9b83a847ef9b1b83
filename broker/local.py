"""Brokers started on this machine on free ports, for tests and benchmarks:
a private Mosquitto process, or the embedded broker in a thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import threading
from pathlib import Path

from anxin.ports import free_port, wait_for_port


class MosquittoMissing(RuntimeError):
    pass


def mosquitto_path() -> str:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        raise MosquittoMissing("mosquitto is not installed (apt-get install mosquitto)")
    return exe


def run_mosquitto_config(conf: Path) -> subprocess.Popen[bytes]:
    """Start Mosquitto on an existing configuration (e.g. to restart it)."""
    return subprocess.Popen(
        [mosquitto_path(), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def start_mosquitto(workdir: Path, extra_conf: str = "") -> tuple[subprocess.Popen[bytes], int]:
    """Start a private Mosquitto (anonymous unless `extra_conf` says otherwise)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "persistence false\n"
        "max_queued_messages 10000\n"
        "set_tcp_nodelay true\n"
        f"log_dest file {workdir / 'mosquitto.log'}\n"
        "log_type error\nlog_type warning\nlog_type notice\n"
        + (extra_conf or "allow_anonymous true\n")
    )
    proc = run_mosquitto_config(conf)
    if not wait_for_port("127.0.0.1", port, 10):
        proc.kill()
        raise RuntimeError(f"mosquitto did not start; see {workdir / 'mosquitto.log'}")
    return proc, port


class EmbeddedBrokerThread:
    """The embedded broker on an event loop of its own, so it outlives any
    loop of the caller's (pytest-asyncio gives each test a new one)."""

    def __init__(self, *, hall: str, secret: str) -> None:
        from broker.embedded import run_broker

        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._task: asyncio.Task[None] | None = None

        async def main() -> None:
            self._task = asyncio.current_task()
            await run_broker(
                host="127.0.0.1",
                port=self.port,
                hall=hall,
                secret=secret,
                ready=lambda _p: self._started.set(),
            )

        def target() -> None:
            asyncio.set_event_loop(self._loop)
            with contextlib.suppress(asyncio.CancelledError):
                self._loop.run_until_complete(main())

        self._thread = threading.Thread(target=target, name="embedded-broker", daemon=True)
        self._thread.start()
        if not self._started.wait(15):
            raise RuntimeError("embedded broker did not start")

    def stop(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)
