"""Run the hub: migrate, then serve HTTP and the MQTT bridge until cancelled."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from anxin.settings import Settings, load_settings
from central.app import create_app
from central.db import upgrade_database

log = logging.getLogger(__name__)


def _bind(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts: with port 0 the kernel picks a free port and
    we know it, with no window for another process to take it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
    """Serve with `workers` processes sharing one socket (``anxin hub --workers N``).

    Every worker is a whole hub (its own MQTT bridge and publishers) on the
    same database: window verbs serialise in the database (row locks or
    SQLite's write lock), never in a process, so no ticket is called twice;
    a caller's press is stored once (the bridge dedupes in the database), so
    only one worker runs it. Blocks until interrupted (Ctrl-C / SIGTERM).
    """
    upgrade_database(settings)
    if config_file is not None:
        os.environ[CONFIG_ENV] = str(config_file.resolve())
    sock = _bind(settings.hub.host, settings.hub.port)
    host, port = sock.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    config = uvicorn.Config(
        "central.server:app_from_env",
        factory=True,
        workers=workers,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    if ready is not None:
        threading.Thread(target=_announce, args=(url, ready), daemon=True).start()
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


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
