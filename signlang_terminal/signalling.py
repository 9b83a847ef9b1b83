"""The terminal's WebSocket to the hub (`broker.signalling`): connect with the
terminal token, keep reconnecting with backoff, hand each hub message to the
controller in order, send the terminal's messages.

``websockets`` (its asyncio client) is the library uvicorn already brings;
pinned in the ``signlang`` extra. Pings every 5 s notice a dead hub within
about 10 s, so the citizen's screen does not keep promising a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import ValidationError

from broker.signalling import FromTerminal, ToSide, to_side

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

log = logging.getLogger(__name__)

TERMINAL_PATH: Final = "/api/v1/interpreting/terminal/ws"
PING_S: Final = 5.0


def terminal_url(hub_url: str, device_id: str, token: str) -> str:
    """``http(s)://hub:port`` (or ``ws(s)://``) → the terminal endpoint with its query."""
    parts = urlsplit(hub_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = f"device={quote(device_id)}&token={quote(token)}"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + TERMINAL_PATH, query, ""))


OnMessage = Callable[[ToSide], Awaitable[None]]
OnState = Callable[[bool], None]


class SignallingClient:
    def __init__(
        self,
        url: str,
        *,
        on_message: OnMessage,
        on_state: OnState,
        backoff: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.url = url
        self.on_message = on_message
        self.on_state = on_state
        self.backoff = backoff
        self.connected = False
        self.connects = 0
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_connected(False)

    def _set_connected(self, up: bool) -> None:
        if up != self.connected:
            self.connected = up
            self.on_state(up)

    async def _run(self) -> None:
        from websockets.asyncio.client import connect

        delay = self.backoff[0]
        while True:
            try:
                async with connect(
                    self.url, proxy=None, ping_interval=PING_S, ping_timeout=PING_S,
                    open_timeout=5, max_size=256_000,
                ) as ws:  # fmt: skip
                    self._ws = ws
                    self.connects += 1
                    delay = self.backoff[0]
                    self._set_connected(True)
                    async for raw in ws:
                        await self._dispatch(raw)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, closed, unreachable: retry
                log.info("signalling to %s: %s", self.url.split("?")[0], exc)
            finally:
                self._ws = None
                self._set_connected(False)
            # Full jitter: terminals of a hall do not all come back at once.
            await asyncio.sleep(random.uniform(0, delay))
            delay = min(self.backoff[1], delay * 2)

    async def _dispatch(self, raw: str | bytes) -> None:
        try:
            message = to_side.validate_json(raw)
        except ValidationError as exc:
            log.warning("signalling message refused: %s", exc.errors()[:1])
            return
        try:
            await self.on_message(message)
        except Exception:
            log.exception("signalling message %s not handled", message.type)

    async def send(self, message: FromTerminal) -> bool:
        """False when not connected (the message is not kept for later)."""
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(message.model_dump_json())
        except Exception as exc:
            log.info("signalling send failed: %s", exc)
            return False
        return True
