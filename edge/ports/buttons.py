"""Push buttons (the window caller's 叫号 buttons)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

ButtonCallback = Callable[[str], None]
"""Called on the event loop with the name of the button that was pressed."""


class Buttons(Protocol):
    @property
    def state(self) -> str: ...

    def on_press(self, callback: ButtonCallback) -> None:
        """Register `callback`; call this from the event loop that should receive presses."""
        ...

    def close(self) -> None: ...


class SimButtons:
    """Buttons pressed by code: ``press("next")`` (call it on the event loop)."""

    def __init__(self) -> None:
        self._callbacks: list[ButtonCallback] = []
        self.presses: list[str] = []

    @property
    def state(self) -> str:
        return "sim"

    def on_press(self, callback: ButtonCallback) -> None:
        self._callbacks.append(callback)

    def press(self, name: str) -> None:
        self.presses.append(name)
        for callback in self._callbacks:
            callback(name)

    def close(self) -> None:
        self._callbacks.clear()


class GpioButtons:
    """gpiozero buttons wired between a BCM pin and ground (internal pull-up).

    gpiozero calls back on its own threads; presses are handed to the event
    loop with ``call_soon_threadsafe`` so callbacks never run concurrently
    with the agent.

    One press is one event: a long press fires once (on the press edge,
    gpiozero's ``when_pressed``), contact bounce is filtered by ``bounce_s``,
    and a second press of the same button within ``repeat_guard_s`` (a
    nervous double press on "next" that would skip a citizen) is ignored.
    """

    def __init__(
        self,
        pins: Mapping[str, int],
        *,
        bounce_s: float,
        repeat_guard_s: float = 0.6,
        pin_factory: Any = None,
    ) -> None:
        try:
            from gpiozero import Button  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("GPIO buttons need the 'gpio' extra (gpiozero)") from exc
        self._callbacks: list[ButtonCallback] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buttons: dict[str, Any] = {}
        self._guard_s = repeat_guard_s
        self._last: dict[str, float] = {}  # button -> monotonic time of its last press
        for name, pin in pins.items():
            button = Button(
                pin, pull_up=True, bounce_time=bounce_s or None, pin_factory=pin_factory
            )
            button.when_pressed = self._make_handler(name)
            self._buttons[name] = button

    def _make_handler(self, name: str) -> Callable[[], None]:
        def pressed() -> None:  # on a gpiozero thread
            now = time.monotonic()
            if now - self._last.get(name, -math.inf) < self._guard_s:
                return
            self._last[name] = now
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._fire, name)

        return pressed

    def _fire(self, name: str) -> None:
        for callback in self._callbacks:
            callback(name)

    @property
    def state(self) -> str:
        held = [n for n, b in self._buttons.items() if b.is_pressed]
        return "held: " + ",".join(held) if held else "ok"

    def on_press(self, callback: ButtonCallback) -> None:
        self._loop = asyncio.get_running_loop()
        self._callbacks.append(callback)

    def close(self) -> None:
        self._callbacks.clear()
        for button in self._buttons.values():
            button.close()
