"""`anxin device display --id board-01 [--sim] --ui [--portrait]`: the Kivy
board on the real display device agent.

Kivy owns the main thread; the agent (`edge.agent.DeviceAgent` with the
display kind) runs on a worker thread with its own asyncio loop and feeds the
board's view-model (`edge.kinds.display.Display.vm`), which the screen reads.
Closing the window stops the agent (explicit offline status); an agent that
dies closes the window; SIGTERM/SIGINT close the window.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

from anxin.settings import Settings
from display.ui.app import BoardHandle
from edge.agent_thread import AgentThread, signals_close
from edge.kinds.display import Display, board_of

log = logging.getLogger(__name__)

START_TIMEOUT_S: Final = 30.0


def display_thread(settings: Settings) -> AgentThread[Display]:
    """The display agent on its worker thread; `attached` is its board."""
    return AgentThread(settings, lambda agent: board_of(agent.device_id), name="display-agent")


def run_device_ui(
    settings: Settings, *, fullscreen: bool = False, orientation: str = "landscape"
) -> int:
    """Run the display agent with its board until the window closes; the exit code."""
    from display.ui.app import run_board

    agent = display_thread(settings)
    handles: list[BoardHandle] = []
    closing = threading.Event()

    def close_ui() -> None:
        closing.set()
        for handle in handles:
            handle.stop()

    agent.on_exit.append(close_ui)
    display = agent.start_and_wait(START_TIMEOUT_S)
    if display is None:
        return 1

    def on_ready(handle: BoardHandle) -> None:
        handles.append(handle)
        if closing.is_set() or not agent.is_alive():
            handle.stop()

    try:
        with signals_close(close_ui):
            run_board(
                display.vm,
                orientation=orientation,
                title=settings.hall_name,
                fullscreen=fullscreen,
                on_ready=on_ready,
            )
    finally:
        code = agent.finish()
    return code
