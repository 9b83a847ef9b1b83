"""Run the hub: migrate, then serve HTTP and the MQTT bridge until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE

from anxin.settings import Settings, load_settings
from central.app import create_app
from central.db import upgrade_database

log = logging.getLogger(__name__)


def _bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """Bind before uvicorn starts: with port 0 the kernel picks a free port and
    we know it, with no window for another process to take it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    # Inherited by accepted connections (Linux): without it a keep-alive client
    # waits ~40 ms per response (Nagle behind the client's delayed ACK).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def run_hub(
    settings: Settings,
    *,
    ready: Callable[[str], None] | None = None,
    app: FastAPI | None = None,
) -> None:
    """Serve until cancelled. `ready(url)` is called once the socket accepts requests.

    `app`: an app `create_app(settings)` made for the caller, which needs its
    state (the simulated day moves the hub's clock); made here otherwise.

    Cancelling the task shuts down cleanly: uvicorn finishes open requests and
    the lifespan stops the bridge, which publishes the retained HubStatus
    offline before disconnecting.
    """
    await asyncio.to_thread(upgrade_database, settings)
    sock = _bind(settings.hub.host, settings.hub.port)
    host, port = sock.getsockname()[:2]
    if app is None:
        # The app is told the port it really serves on (port 0 picks one):
        # kiosk blocks and QR codes carry the hub's address.
        hub = settings.hub.model_copy(update={"port": port})
        app = create_app(settings.model_copy(update={"hub": hub}))
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}"
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
    try:
        while not server.started:
            if serving.done():
                await serving  # raises what made uvicorn fail to start
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
        log.info("hub listening on %s", settings.hub.public_url or url)
        if ready is not None:
            ready(url)
        # Shielded so that cancelling us asks uvicorn to stop (below) instead
        # of cancelling it mid-request and skipping the lifespan shutdown.
        await asyncio.shield(serving)
    finally:
        if not serving.done():
            server.should_exit = True
            await asyncio.shield(serving)
        sock.close()


# --- several worker processes ------------------------------------------------------

CONFIG_ENV = "ANXIN_CONFIG"


def app_from_env() -> FastAPI:
    """The hub app of one worker process (`run_hub_workers`): settings from the
    ``ANXIN_*`` environment and the TOML file named by ``ANXIN_CONFIG``."""
    path = os.environ.get(CONFIG_ENV)
    return create_app(load_settings(Path(path) if path else None))


def run_hub_workers(
    settings: Settings,
    *,
    workers: int,
    config_file: Path | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve with `workers` processes on one port (``anxin hub --workers N``).

    Every worker is a whole hub (its own MQTT bridge and publishers) on the
    same database: window verbs serialise in the database (row locks or
    SQLite's write lock), never in a process, so no ticket is called twice;
    a caller's press is stored once (the bridge dedupes in the database), so
    only one worker runs it. Blocks until interrupted (Ctrl-C / SIGTERM).

    Each worker listens on a socket of its own, all bound to the port with
    ``SO_REUSEPORT``: the kernel spreads new connections over them by a hash
    of their addresses. On one shared socket, the worker that woke first
    took every connection waiting (asyncio accepts a whole backlog at once):
    66 of the 76 windows of a burst of presses, 13 of 16 connections of the
    `ticket-throughput` load. On SQLite that costs little (the write lock is
    the limit), but on PostgreSQL a verb waits for the server on its
    worker's event loop, and the busy worker served 75–80 operations/s
    where two evenly loaded ones served 105–145.

    This process opens the sockets, all listening before any worker starts,
    and hands each worker its own: a client that connects while a worker is
    still starting (or being replaced) waits in that socket's queue instead
    of landing on a worker that is already up, and the spread holds from
    the first connection. It restarts a worker that dies, on the same
    socket, and stops them all on a signal.
    """
    upgrade_database(settings)
    if config_file is not None:
        os.environ[CONFIG_ENV] = str(config_file.resolve())
    first = _bind(settings.hub.host, settings.hub.port, reuse_port=True)
    host, port = first.getsockname()[:2]
    sockets = [first, *(_bind(host, port, reuse_port=True) for _ in range(workers - 1))]
    # The workers' apps must know the port really served (port 0 picks one):
    # kiosk blocks and QR codes carry the hub's address.
    os.environ["ANXIN_HUB__PORT"] = str(port)
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    if ready is not None:
        threading.Thread(target=_announce, args=(url, ready), daemon=True).start()
    try:
        _supervise(sockets)
    finally:
        for sock in sockets:
            sock.close()


def _serve_worker(sock: socket.socket) -> None:
    """One worker process (spawned), serving on its own listening socket."""
    config = uvicorn.Config(
        "central.server:app_from_env",
        factory=True,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    config.configure_logging()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the workers too
        uvicorn.Server(config).run(sockets=[sock])


_RESTART_DELAY_S = 1.0


def _supervise(sockets: list[socket.socket]) -> None:
    """Run one worker per socket until SIGINT or SIGTERM; then stop them
    gracefully (SIGTERM: uvicorn finishes open requests and runs the
    lifespan's end)."""
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, as uvicorn does

    def start(n: int) -> multiprocessing.process.BaseProcess:
        # The socket reaches the child as a duplicated descriptor, as
        # uvicorn's own workers get theirs.
        proc = spawn.Process(target=_serve_worker, args=(sockets[n],), name=f"hub-worker-{n}")
        proc.start()
        return proc

    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    procs = [start(n) for n in range(len(sockets))]
    try:
        while not stop.wait(0.5):
            for n, proc in enumerate(procs):
                if proc.exitcode is None:
                    continue
                if proc.exitcode == STARTUP_FAILURE:
                    raise RuntimeError(f"hub worker {n} could not start; see the log above")
                log.warning("hub worker %d exited with %s; starting another", n, proc.exitcode)
                if not stop.wait(_RESTART_DELAY_S):
                    procs[n] = start(n)
    finally:
        for proc in procs:
            if proc.exitcode is None:
                proc.terminate()  # SIGTERM, also after a Ctrl-C that reached them first
        for proc in procs:
            proc.join(20)
            if proc.exitcode is None:
                proc.kill()
                proc.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _announce(url: str, ready: Callable[[str], None], within_s: float = 60) -> None:
    """Call `ready(url)` once a worker answers /healthz."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:  # noqa: S310 - our URL
                if r.status == 200:
                    log.info("hub listening on %s", url)
                    ready(url)
                    return
        except OSError:
            pass
        time.sleep(0.2)
    log.error("no hub worker answered on %s within %.0f s", url, within_s)
