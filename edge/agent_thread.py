"""A device agent on a worker thread, for devices whose screen (Kivy) owns
the main thread: the kiosk, the hall boards and the sign-language terminal.

The agent runs on its own asyncio loop until `AgentThread.request_stop`.
Once started, ``attach(agent)`` makes what the screen needs (the kiosk's
ticket source, the board, the terminal); ``detach`` releases it after the
agent has stopped. Callbacks in `on_exit` run when the thread ends, for whatever
reason, so a dying agent closes the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

from anxin import heap
from anxin.settings import Settings
from edge.agent import DeviceAgent

log = logging.getLogger(__name__)
T = TypeVar("T")


class AgentThread(threading.Thread, Generic[T]):
    def __init__(
        self,
        settings: Settings,
        attach: Callable[[DeviceAgent], T],
        *,
        name: str,
        detach: Callable[[T], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.settings = settings
        self._attach = attach
        self._detach = detach
        self.ready = threading.Event()
        self.agent: DeviceAgent | None = None
        self.attached: T | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self.on_exit: list[Callable[[], None]] = []
        self._stop_event: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc
            log.exception("%s died", self.name)
        finally:
            self.ready.set()
            for callback in self.on_exit:
                callback()

    async def _main(self) -> None:
        from edge.runner import make_agent

        self.loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        agent = self.agent = make_agent(self.settings)
        await agent.start()  # the kind's set-up makes what `attach` looks up
        try:
            self.attached = self._attach(agent)
            self.ready.set()
            with heap.settled():
                await self._stop_event.wait()
        finally:
            await agent.stop()
            if self.attached is not None and self._detach is not None:
                await self._detach(self.attached)

    def start_and_wait(self, timeout_s: float) -> T | None:
        """Start; what `attach` made, or None (logged, thread stopped) if it did not start."""
        self.start()
        if self.ready.wait(timeout_s) and self.attached is not None and self.loop is not None:
            return self.attached
        log.error("%s did not start: %s", self.name, self.error)
        self.request_stop()
        self.join(10)
        return None

    def finish(self) -> int:
        """Stop the agent once the screen has closed; the process's exit code."""
        self.request_stop()
        self.join(15)
        if self.error is not None:
            log.error("%s stopped: %s", self.name, self.error)
            return 1
        return 0

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the agent's loop (from the screen's thread)."""
        if self.loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                self.loop.call_soon_threadsafe(fn, *args)

    def request_stop(self) -> None:
        loop, event = self.loop, self._stop_event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)


@contextlib.contextmanager
def signals_close(close: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT close the window while the screen runs."""
    previous = {
        sig: signal.signal(sig, lambda *_: close()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
