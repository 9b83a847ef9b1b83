"""Run the hub: migrate, then serve HTTP and the MQTT bridge until cancelled."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import uvicorn

from anxin.settings import Settings
from central.app import create_app
from central.db import upgrade_database

log = logging.getLogger(__name__)


def _bind(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts: with port 0 the kernel picks a free port and
    we know it, with no window for another process to take it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def run_hub(settings: Settings, *, ready: Callable[[str], None] | None = None) -> None:
    """Serve until cancelled. `ready(url)` is called once the socket accepts requests.

    Cancelling the task shuts down cleanly: uvicorn finishes open requests and
    the lifespan stops the bridge, which publishes the retained HubStatus
    offline before disconnecting.
    """
    await asyncio.to_thread(upgrade_database, settings)
    app = create_app(settings)
    sock = _bind(settings.hub.host, settings.hub.port)
    host, port = sock.getsockname()[:2]
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
