"""The terminal application: both screens in one Kivy window, citizen left,
clerk right (a dual-head Pi spans one X screen over both monitors; on one
monitor they sit side by side).

The view-model and the call live on the device's asyncio loop (another
thread); this side reads only the view-model's immutable `views`, asks for a
redraw through Kivy's thread-safe ``Clock.schedule_once``, and sends button
presses back with `LoopButtons`. Pictures are pulled 25 times a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

from signlang_terminal.viewmodel import TerminalViewModel
from uikit.kivy_setup import configure_kivy, register_cjk_font

FRAME_S: Final = 1 / 25
SIZE: Final = (2560, 720)  # two 1280×720 screens


class LoopButtons:
    """The view-model's buttons, run on the loop that owns it."""

    def __init__(self, vm: TerminalViewModel, loop: asyncio.AbstractEventLoop) -> None:
        self._vm, self._loop = vm, loop

    @property
    def views(self) -> Any:
        return self._vm.views

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        self._loop.call_soon_threadsafe(fn, *args)

    def press_call(self) -> None:
        self._run(self._vm.press_call)

    def answer_consent(self, agreed: bool) -> None:
        self._run(self._vm.answer_consent, agreed)

    def press_cancel(self) -> None:
        self._run(self._vm.press_cancel)

    def press_end(self) -> None:
        self._run(self._vm.press_end)

    def type_text(self, text: str) -> bool:
        self._run(self._vm.type_text, text)
        return True


def build_terminal_app(
    vm: TerminalViewModel,
    buttons: Any,
    remote: Callable[[], Any],
    local: Callable[[], Any],
    *,
    title: str = "远程手语翻译",
    on_ready: Callable[[Any], None] | None = None,
) -> Any:
    """The Kivy `App` (configure Kivy first); `on_ready(app)` once its screens
    are built, on Kivy's thread and asyncio loop."""
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.uix.boxlayout import BoxLayout

    from signlang_terminal.ui.screen import CitizenPane, ClerkPane

    register_cjk_font()

    class TerminalApp(App):  # type: ignore[misc]
        def build(self) -> Any:
            self.title = title
            root = BoxLayout()
            self.citizen = CitizenPane(buttons, remote, local)
            self.clerk = ClerkPane(buttons)
            root.add_widget(self.citizen)
            root.add_widget(self.clerk)
            vm.on_change(lambda: Clock.schedule_once(self.redraw, 0))
            Clock.schedule_once(self.redraw, 0)
            Clock.schedule_interval(lambda _dt: self.citizen.tick(), FRAME_S)
            if on_ready is not None:
                on_ready(self)
            return root

        def redraw(self, _dt: float = 0) -> None:
            citizen, clerk = buttons.views
            self.citizen.refresh(citizen)
            self.clerk.refresh(clerk)

    return TerminalApp()


def run_terminal(
    vm: TerminalViewModel,
    buttons: Any,
    remote: Callable[[], Any],
    local: Callable[[], Any],
    *,
    size: tuple[int, int] = SIZE,
    fullscreen: bool = False,
    title: str = "远程手语翻译",
    stop_when: Callable[[], bool] = lambda: False,
    on_ready: Callable[[Any], None] | None = None,
) -> None:
    """Run the screens until the window closes or `stop_when()` says so (main thread)."""
    configure_kivy(size=size, fullscreen=fullscreen)
    app = build_terminal_app(vm, buttons, remote, local, title=title, on_ready=on_ready)

    from kivy.clock import Clock

    # The device's agent may stop on its own (another thread): close the window then.
    Clock.schedule_interval(lambda _dt: app.stop() if stop_when() else None, 0.5)
    asyncio.run(app.async_run(async_lib="asyncio"))
