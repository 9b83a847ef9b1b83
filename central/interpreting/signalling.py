"""The two signalling WebSockets of `broker.signalling`, served by the hub.

Each socket is a `WsLink` (a queue drained by one sender task, so the ACD
posts without awaiting) plus a receive loop that validates every text
message with the contract's adapters. A message that does not validate, or
that the ACD refuses, is answered with `Error` (Chinese reason) and logged;
the socket stays open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, WebSocket
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, TypeAdapter, ValidationError

from broker.signalling import MAX_SDP, Error, from_interpreter, from_terminal
from central.auth.models import Role, User
from central.interpreting.live import Refused
from central.interpreting.service import interpreting_of
from central.state import app_state

log = logging.getLogger(__name__)

router = APIRouter(tags=["interpreting"])

# An SDP of at most MAX_SDP characters plus the envelope; anything larger is refused unread.
MAX_MESSAGE: Final = MAX_SDP + 2_000
CLOSE_AUTH: Final = 4401
CLOSE_FORBIDDEN: Final = 4403


class WsLink:
    """What the ACD holds of a socket: `post` and `close` never block."""

    def __init__(self, ws: WebSocket, label: str) -> None:
        self._ws = ws
        self.label = label
        self._out: asyncio.Queue[str | tuple[int, str]] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump(), name=f"ws-out-{label}")

    def post(self, message: BaseModel) -> None:
        self._out.put_nowait(message.model_dump_json())

    def close(self, code: int, reason: str) -> None:
        self._out.put_nowait((code, reason))

    async def _pump(self) -> None:
        try:
            while True:
                item = await self._out.get()
                if isinstance(item, tuple):
                    await self._ws.close(item[0], item[1])
                    return
                await self._ws.send_text(item)
        except Exception:  # the peer went away; the receive loop notices and cleans up
            log.debug("%s: send failed", self.label, exc_info=True)

    async def drain(self) -> None:
        """Let queued messages go out (tests and the closing path), then stop."""
        for _ in range(50):
            if self._out.empty():
                break
            await asyncio.sleep(0.01)
        self._task.cancel()


async def _refuse(ws: WebSocket, code: int, reason: str, who: str) -> None:
    log.warning("interpreting socket refused (%s): %s", who, reason)
    await ws.send_text(Error(reason=reason).model_dump_json())
    await ws.close(code, reason)


async def _receive_loop(
    ws: WebSocket, link: WsLink, adapter: TypeAdapter[Any], handle: Callable[[Any], None]
) -> None:
    """Until the peer closes: validate, hand to the ACD, answer refusals with `Error`."""
    while True:
        frame = await ws.receive()
        if frame["type"] == "websocket.disconnect":
            return
        text = frame.get("text")
        reason: str | None = None
        if text is None:
            reason = "只接受 JSON 文本消息"
        elif len(text) > MAX_MESSAGE:
            reason = f"消息过大（超过 {MAX_MESSAGE} 字符）"
        else:
            try:
                handle(adapter.validate_json(text))
            except ValidationError as exc:
                reason = f"消息格式不正确：{_describe(exc)}"
            except Refused as exc:
                reason = str(exc)
        if reason is not None:
            log.warning("interpreting message refused (%s): %s", link.label, reason)
            link.post(Error(reason=reason))


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "消息"
    return f"{where}: {first['msg']}"


@router.websocket("/api/v1/interpreting/terminal/ws")
async def terminal_socket(ws: WebSocket, device: str = "", token: str = "") -> None:
    service = interpreting_of(_app(ws))
    await ws.accept()
    why = service.check_terminal(device, token)
    if why is not None:
        await _refuse(ws, CLOSE_AUTH, why, f"terminal {device!r}")
        return
    link = WsLink(ws, f"terminal {device}")
    acd = service.acd
    acd.terminal_connected(device, link)
    log.info("terminal %s connected for signalling", device)
    try:
        await _receive_loop(
            ws, link, from_terminal, lambda msg: acd.terminal_message(device, link, msg)
        )
    finally:
        acd.terminal_disconnected(device, link)
        await link.drain()
        log.info("terminal %s disconnected from signalling", device)


@router.websocket("/api/v1/interpreting/console/ws")
async def console_socket(ws: WebSocket) -> None:
    app = _app(ws)
    service = interpreting_of(app)
    await ws.accept()
    if not _same_origin(ws):
        await _refuse(ws, CLOSE_FORBIDDEN, "来源页面不属于本中心", "console origin")
        return
    user = await run_in_threadpool(_console_user, app, ws.session)
    if user is None:
        await _refuse(ws, CLOSE_AUTH, "请先登录", "console")
        return
    if user.role_enum != Role.INTERPRETER:
        await _refuse(ws, CLOSE_FORBIDDEN, "只有手语翻译员可以使用翻译工作台", user.username)
        return
    if not service.enabled:
        await _refuse(ws, CLOSE_FORBIDDEN, "本中心进程未提供手语翻译服务", user.username)
        return
    link = WsLink(ws, f"interpreter {user.username}")
    acd, uid = service.acd, user.id
    acd.interpreter_connected(uid, user.display_name or user.username, link)
    try:
        await _receive_loop(
            ws, link, from_interpreter, lambda msg: acd.interpreter_message(uid, link, msg)
        )
    finally:
        acd.interpreter_disconnected(uid, link)
        await link.drain()


def _app(ws: WebSocket) -> FastAPI:
    app = ws.app
    assert isinstance(app, FastAPI)
    return app


def _same_origin(ws: WebSocket) -> bool:
    """A browser always sends Origin on a WebSocket; a page of another site
    must not ride on the interpreter's cookie (cross-site WebSocket hijacking)."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser: the session cookie still has to be valid
    return urlsplit(origin).netloc == ws.headers.get("host")


def _console_user(app: FastAPI, session: dict[str, Any]) -> User | None:
    uid, epoch = session.get("uid"), session.get("epoch")
    if not isinstance(uid, int):
        return None
    with app_state(app).sessions() as db:
        user = db.get(User, uid)
        if user is None or not user.active or user.auth_epoch != epoch:
            return None
        if user.must_change_password:
            return None
        db.expunge(user)
        return user
