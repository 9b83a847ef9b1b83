"""`anxin device signlang --id signlang-01 [--sim] --ui [--fullscreen]`: both
screens of the terminal (citizen left, clerk right) on the real device agent.

Kivy owns the main thread; the agent (`edge.agent.DeviceAgent` with the
``signlang`` kind) runs on a worker thread with its own asyncio loop, and the
call controller, view-model and peer connection live there. The screens read
the view-model's immutable `views`, send presses back through `LoopButtons`,
and pull the newest pictures 25 times a second: the interpreter's newest
decoded frame and the camera picture last sent. Closing the window stops the
agent (explicit offline status, any call hung up and its media closed); an
agent that dies closes the window; SIGTERM/SIGINT close the window.

With ``--sim`` a local control socket (``{data_dir}/devices/{id}/control.sock``,
JSON lines, the client is `edge.kinds.kiosk_control.call_control`) lets tests
read and press the screens as a person would: ``{"op": "ui"}`` (the phase
and the texts drawn on each pane), ``{"op": "tap", "text": "呼叫手语翻译"}``
(release the on-screen button with that label) and ``{"op": "screenshot",
"path": "/tmp/s.png", "pane": "citizen" | "clerk" | "both"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from pathlib import Path
from typing import Any, Final

from anxin.settings import Settings
from edge.agent_thread import AgentThread, signals_close
from edge.kinds.signlang import SignlangDevice, terminal_of

log = logging.getLogger(__name__)

START_TIMEOUT_S: Final = 30.0
MAX_LINE: Final = 16 * 1024


def terminal_thread(settings: Settings) -> AgentThread[SignlangDevice]:
    """The terminal's agent on its worker thread; `attached` is the terminal."""

    async def detach(device: SignlangDevice) -> None:
        await device.terminal.stop()  # hang up, close the media

    return AgentThread(
        settings, lambda agent: terminal_of(agent.device_id), name="signlang-agent", detach=detach
    )


class Pictures:
    """The newest pictures of the current call as RGB arrays, for Kivy's thread.

    Only references are read across threads (a decoded frame and the last
    picture sent are never changed after they are made); each is converted
    once, however often the screen asks."""

    def __init__(self, device: SignlangDevice) -> None:
        self.device = device
        self._remote: tuple[Any, Any] = (None, None)
        self._local: tuple[Any, Any] = (None, None)

    def remote(self) -> Any:
        peer = self.device.terminal.peer
        meter = peer.video_in if peer is not None else None
        frame = meter.latest if meter is not None else None
        if frame is None:
            return None
        if frame is not self._remote[0]:
            self._remote = (frame, frame.to_ndarray(format="rgb24"))
        return self._remote[1]

    def local(self) -> Any:
        peer = self.device.terminal.peer
        picture = peer.video.last_picture if peer is not None else None
        if picture is None:
            return None
        if picture is not self._local[0]:
            import cv2

            self._local = (picture, cv2.cvtColor(picture, cv2.COLOR_BGR2RGB))
        return self._local[1]


class ScreenControl:
    """The ``--sim`` control socket, served on Kivy's own asyncio loop (so every
    op runs on Kivy's thread, between two frames)."""

    def __init__(self, app: Any, phase: Any) -> None:
        self.app = app
        self.phase = phase

    async def serve(self, data_dir: Path) -> None:
        from edge.kinds.kiosk_control import socket_path

        path = socket_path(data_dir)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server = await asyncio.start_unix_server(self._handle, path=str(path), limit=MAX_LINE)
        (data_dir / "control.path").write_text(str(path))
        try:
            async with server:
                await server.serve_forever()
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                    answer = self.answer(request if isinstance(request, dict) else {})
                except Exception as exc:  # a bad request must not stop the screens
                    answer = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
                writer.write(json.dumps(answer, ensure_ascii=False).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        citizen, clerk = self.app.citizen, self.app.clerk
        if op == "ui":
            return {"ok": True, "phase": self.phase(), "citizen": _texts(citizen),
                    "clerk": _texts(clerk), "video": _video_shown(citizen)}  # fmt: skip
        if op == "tap":
            label = str(request.get("text") or "")
            found = [b for b in _buttons(citizen) if b.text == label]
            if not found:
                return {"ok": False, "reason": f"no button {label!r} on screen"}
            found[0].dispatch("on_release")
            return {"ok": True}
        if op == "screenshot":
            pane = request.get("pane", "both")
            widget = {"citizen": citizen, "clerk": clerk}.get(pane, self.app.root)
            citizen.tick()  # the newest pictures, not the last tick's
            widget.export_to_png(str(request["path"]))
            return {"ok": True, "path": str(request["path"])}
        return {"ok": False, "reason": f"unknown op {op!r}"}


def _walk(widget: Any) -> list[Any]:
    found = [widget]
    for child in reversed(widget.children):  # Kivy keeps children last-added first
        found.extend(_walk(child))
    return found


def _texts(widget: Any) -> list[str]:
    return [str(w.text) for w in _walk(widget) if isinstance(getattr(w, "text", None), str)
            and w.text]  # fmt: skip


def _buttons(widget: Any) -> list[Any]:
    from kivy.uix.button import Button

    return [w for w in _walk(widget) if isinstance(w, Button)]


def _video_shown(citizen: Any) -> bool:
    return citizen.interpreter.parent is not None and citizen.interpreter.texture is not None


def run_device_ui(settings: Settings, *, fullscreen: bool = False) -> int:
    """Run the terminal's agent with both screens until the window closes; the exit code."""
    from signlang_terminal.ui.app import LoopButtons, run_terminal

    agent = terminal_thread(settings)
    closing = threading.Event()
    agent.on_exit.append(closing.set)
    device = agent.start_and_wait(START_TIMEOUT_S)
    if device is None or agent.loop is None or agent.agent is None:
        return 1
    data_dir = agent.agent.data_dir
    pictures = Pictures(device)
    tasks: list[asyncio.Task[None]] = []

    def on_ready(app: Any) -> None:
        if settings.device.sim:
            phase = lambda: device.vm.phase.value  # noqa: E731
            tasks.append(asyncio.ensure_future(ScreenControl(app, phase).serve(data_dir)))

    try:
        with signals_close(closing.set):
            run_terminal(
                device.vm,
                LoopButtons(device.vm, agent.loop),
                pictures.remote,
                pictures.local,
                fullscreen=fullscreen,
                title=f"{settings.hall_name} · 远程手语翻译",
                stop_when=lambda: closing.is_set() or not agent.is_alive(),
                on_ready=on_ready,
            )
    finally:
        for task in tasks:
            task.cancel()
        code = agent.finish()
    return code
