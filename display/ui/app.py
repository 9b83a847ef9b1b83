"""The board application: Kivy set up for a wall screen around a `BoardViewModel`.

The view-model is fed elsewhere (the display device's agent loop, a test, a
demo); every change it reports is drawn on Kivy's next frame, and a quarter-
second tick lets highlights run out and the clock move. Kivy is configured
and the CJK font registered with the shared helpers (`uikit.kivy_setup`), and
Kivy is imported only inside functions, after `configure_kivy`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from anxin import heap
from display.board import BoardViewModel
from uikit.kivy_setup import configure_kivy, register_cjk_font

log = logging.getLogger(__name__)
T = TypeVar("T")

TICK_S: Final = 0.25


@dataclass
class BoardHandle:
    """Thread-safe access to a running board screen."""

    vm: BoardViewModel
    screen: Any
    started_at: float
    first_frame_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def on_main(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run `fn` on Kivy's thread; its result (or exception) in the future."""
        from kivy.clock import Clock

        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run(_dt: float) -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        Clock.schedule_once(run, 0)
        return future

    # --- on Kivy's thread (`on_main`) -----------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What the screen shows now (drawn, not merely decided)."""
        view = self.screen.drawn
        if view is None:
            return {"renders": self.screen.renders}
        return {
            "renders": self.screen.renders,
            "title": view.title,
            "featured": view.featured.sentence if view.featured else None,
            "calls": [r.ticket for r in view.calls],
            "highlighted": [r.ticket for r in view.calls if r.highlighted],
            "window": view.window.ticket if view.window else None,
            "texts": view.texts(),
        }

    def screenshot(self, path: str) -> str:
        self.screen.refresh()
        self.screen.export_to_png(path)
        return path

    def stop(self) -> None:
        def stop() -> None:
            from kivy.app import App

            app = App.get_running_app()
            if app is not None:
                app.stop()

        self.on_main(stop)


def build_board_app(
    vm: BoardViewModel,
    *,
    orientation: str = "landscape",
    title: str = "安心政务服务大厅",
    on_ready: Callable[[BoardHandle], None] | None = None,
    started_at: float | None = None,
) -> Any:
    """The Kivy `App` (configure Kivy first: `configure_kivy`)."""
    from kivy.app import App
    from kivy.clock import Clock

    from display.ui.screen import BoardScreen

    register_cjk_font()
    t0 = started_at if started_at is not None else time.monotonic()

    class BoardApp(App):  # type: ignore[misc]
        def build(self) -> Any:
            self.title = title
            self.screen = BoardScreen(vm, orientation=orientation)
            self.handle = BoardHandle(vm, self.screen, t0)
            # From the agent's thread: draw on the next frame, once however
            # many messages (window, calls, queue) one call brings.
            vm.on_change(self.screen.changed)
            Clock.schedule_interval(self.screen.refresh, TICK_S)
            Clock.schedule_once(self._first_frame, 0)
            return self.screen

        def _first_frame(self, _dt: float) -> None:
            self.handle.first_frame_s = time.monotonic() - t0
            log.info("board first frame after %.2f s", self.handle.first_frame_s)
            heap.settle()  # widgets, fonts and textures: no full collection stalls a frame
            if on_ready is not None:
                on_ready(self.handle)

        def on_stop(self) -> None:
            self.screen.ticker.stop()
            heap.release()

    return BoardApp()


def run_board(
    vm: BoardViewModel,
    *,
    orientation: str = "landscape",
    title: str = "安心政务服务大厅",
    size: tuple[int, int] | None = None,
    fullscreen: bool = False,
    kivy_home: str | None = None,
    on_ready: Callable[[BoardHandle], None] | None = None,
) -> None:
    """Run the board until its window closes (on the main thread)."""
    started = time.monotonic()
    configure_kivy(orientation=orientation, size=size, fullscreen=fullscreen, kivy_home=kivy_home)
    app = build_board_app(
        vm, orientation=orientation, title=title, on_ready=on_ready, started_at=started
    )
    asyncio.run(app.async_run(async_lib="asyncio"))
