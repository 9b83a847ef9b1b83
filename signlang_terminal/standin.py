"""A Python stand-in for the interpreter console (tests, the benchmark): it
speaks the console side of `broker.signalling` over the hub's console socket
and answers the terminal's WebRTC offer with an aiortc peer showing its own
test pattern. It is not a product; the real console is the browser page.

`peer_runner` decides where the peer's sockets live: the tests run it on a
loop inside a network namespace (aioice skips loopback), the benchmark on a
loop of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from pydantic import BaseModel

from broker.signalling import (
    Accept,
    Connected,
    Ended,
    Hangup,
    Offer,
    Outcome,
    Sdp,
    Status,
    to_side,
)
from signlang_terminal.media.peer import AnswerPeer
from signlang_terminal.media.tracks import SyntheticVideoTrack, ToneAudioTrack

log = logging.getLogger(__name__)
T = TypeVar("T")
PeerRunner = Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]]


async def _here(coro: Coroutine[Any, Any, T]) -> T:
    return await coro


async def console_cookie(hub_url: str, username: str, password: str) -> str:
    """Sign in as the interpreter; the cookie header for the console socket."""
    import httpx

    async with httpx.AsyncClient(base_url=hub_url) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        response.raise_for_status()
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


class InterpreterStandIn:
    def __init__(
        self,
        hub_url: str,
        cookie: str,
        *,
        peer_runner: PeerRunner = _here,
        accept: bool = True,
    ) -> None:
        self.url = hub_url.replace("http://", "ws://").replace("https://", "wss://")
        self.url = self.url.rstrip("/") + "/api/v1/interpreting/console/ws"
        self.cookie = cookie
        self.run_peer = peer_runner
        self.accept = accept
        self.received: list[BaseModel] = []
        self.peer: AnswerPeer | None = None
        self.request_id: str | None = None
        self.calls = 0
        self._ws: Any = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        from websockets.asyncio.client import connect

        self._ws = await connect(self.url, additional_headers={"Cookie": self.cookie}, proxy=None)
        self._task = asyncio.ensure_future(self._read())
        await self.send(Status(status="available"))

    async def send(self, message: BaseModel) -> None:
        await self._ws.send(message.model_dump_json())

    async def _read(self) -> None:
        async for raw in self._ws:
            message = to_side.validate_json(raw)
            self.received.append(message)
            try:
                await self._on(message)
            except Exception:
                log.exception("stand-in failed on %s", message.type)

    async def _on(self, message: BaseModel) -> None:
        if isinstance(message, Offer) and self.accept:
            await self.send(Accept(request_id=message.request_id))
        elif isinstance(message, Connected):
            self.request_id = message.request_id
            self._connected.set()
        elif isinstance(message, Sdp) and message.sdp_type == "offer":
            self.calls += 1
            self.peer = await self.run_peer(_new_peer())
            answer = await self.run_peer(self.peer.answer(message.sdp))
            await self.send(Sdp(request_id=message.request_id, sdp_type="answer", sdp=answer))
        elif isinstance(message, Hangup | Ended):
            await self.close_peer()
            if isinstance(message, Ended):
                await self.send(Outcome(request_id=message.request_id, outcome="served"))
                await self.send(Status(status="available"))

    async def hang_up(self) -> None:
        if self.request_id is not None:
            await self.send(Hangup(request_id=self.request_id, reason="interpreter"))
        await self.close_peer()

    async def send_text(self, text: str) -> bool:
        peer = self.peer
        return peer is not None and bool(await self.run_peer(_send(peer, text)))

    async def close_peer(self) -> None:
        peer, self.peer = self.peer, None
        if peer is not None:
            await self.run_peer(peer.close())

    async def stop(self) -> None:
        await self.close_peer()
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


async def _new_peer() -> AnswerPeer:
    # Built on the runner's loop, so its sockets belong there.
    return AnswerPeer(SyntheticVideoTrack(), ToneAudioTrack(frequency=660), read_stamps=True)


async def _send(peer: AnswerPeer, text: str) -> bool:
    return peer.send_text(text)
