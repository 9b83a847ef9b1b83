"""`anxin device display --id board-01 [--sim] --ui [--portrait]`: the Kivy
board on the real display device agent.

Kivy owns the main thread; the agent (`edge.agent.DeviceAgent` with the
display kind) runs on a worker thread with its own asyncio loop and feeds the
board's view-model (`edge.kinds.display.Display.vm`), which the screen reads.
Closing the window stops the agent (explicit offline status); an agent that
dies closes the window; SIGTERM/SIGINT close the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from typing import Any, Final

from anxin.settings import Settings
from display.ui.app import BoardHandle
from edge.kinds.display import Display

log = logging.getLogger(__name__)

START_TIMEOUT_S: Final = 30.0


class AgentThread(threading.Thread):
    """The display agent on its own thread and loop, until `request_stop`."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="display-agent", daemon=True)
        self.settings = settings
        self.ready = threading.Event()
        self.display: Display | None = None
        self.error: BaseException | None = None
        self.on_exit: list[Any] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc
            log.exception("display agent died")
        finally:
            self.ready.set()
            for callback in self.on_exit:
                callback()

    async def _main(self) -> None:
        from edge.kinds.display import board_of
        from edge.runner import make_agent

        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        agent = make_agent(self.settings)
        await agent.start()  # the kind's set-up makes the Display
        try:
            self.display = board_of(agent.device_id)
            self.ready.set()
            await self._stop_event.wait()
        finally:
            await agent.stop()

    def request_stop(self) -> None:
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(event.set)


def run_device_ui(
    settings: Settings, *, fullscreen: bool = False, orientation: str = "landscape"
) -> int:
    """Run the display agent with its board until the window closes; the exit code."""
    from display.ui.app import run_board

    agent = AgentThread(settings)
    handles: list[BoardHandle] = []
    closing = threading.Event()

    def close_ui() -> None:
        closing.set()
        for handle in handles:
            handle.stop()

    agent.on_exit.append(close_ui)
    agent.start()
    if not agent.ready.wait(START_TIMEOUT_S) or agent.display is None:
        log.error("the display agent did not start: %s", agent.error)
        agent.request_stop()
        agent.join(10)
        return 1

    def on_ready(handle: BoardHandle) -> None:
        handles.append(handle)
        if closing.is_set() or not agent.is_alive():
            handle.stop()

    previous = {
        sig: signal.signal(sig, lambda *_: close_ui()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        run_board(
            agent.display.vm,
            orientation=orientation,
            title=settings.hall_name,
            fullscreen=fullscreen,
            on_ready=on_ready,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        agent.request_stop()
        agent.join(15)
    if agent.error is not None:
        log.error("the display agent stopped: %s", agent.error)
        return 1
    return 0
