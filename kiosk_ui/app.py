"""The kiosk application: Kivy set up for a touch screen, the view-model
wired to a ticket source, a printer, the matter library and the hall.

``run_kiosk(...)`` blocks until the window closes; the UI runs on Kivy's
asyncio loop (``App.async_run``), so `TicketSource.take` is awaited there.
A ticket source that lives on another thread's loop (the device process)
is wrapped with `ThreadedTicketSource`. Live inputs from other threads (hall
queue figures, a new matter library, an ID card read) go through the
`KioskHandle` given to ``on_ready``; it hands them to Kivy's main thread.

Kivy reads its configuration when first imported, so this module imports
Kivy only inside functions, after `configure_kivy` has set the environment.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from broker.contract import HallQueue
from central.matters.schema import Library
from edge.kinds.kiosk_api import IssuedTicket, TicketSource
from kiosk_ui.viewmodels.kiosk import KioskClock, KioskSettings, KioskViewModel
from kiosk_ui.viewmodels.offer import HallOffer, LibrarySource
from printer.api import PrintOutcome, TicketOutput
from uikit.kivy_setup import configure_kivy, register_cjk_font

log = logging.getLogger(__name__)
T = TypeVar("T")


class ThreadedTicketSource:
    """A `TicketSource` living on another thread's event loop, used from Kivy's loop."""

    def __init__(self, source: TicketSource, loop: asyncio.AbstractEventLoop) -> None:
        self._source = source
        self._loop = loop

    @property
    def online(self) -> bool:
        return self._source.online

    async def take(
        self,
        service: str,
        *,
        priority: str = "normal",
        priority_reason: str | None = None,
        citizen_id: str | None = None,
        matter: str | None = None,
    ) -> IssuedTicket:
        future = asyncio.run_coroutine_threadsafe(
            self._source.take(
                service,
                priority=priority,
                priority_reason=priority_reason,
                citizen_id=citizen_id,
                matter=matter,
            ),
            self._loop,
        )
        return await asyncio.wrap_future(future)

    async def check_in(self, code: str) -> IssuedTicket:
        future = asyncio.run_coroutine_threadsafe(self._source.check_in(code), self._loop)
        return await asyncio.wrap_future(future)


class SearchIndexHolder:
    """The guide search index, built in a worker thread (jieba takes a second or two)."""

    def __init__(self) -> None:
        self.index: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        return self.index

    def build(self, library: Library, done: Callable[[], None] | None = None) -> None:
        def work() -> None:
            from central.guidance.search import index_for

            try:
                built = index_for(library)
            except Exception:
                log.exception("search index build failed")
                return
            with self._lock:
                self.index = built
            if done is not None:
                done()

        threading.Thread(target=work, name="kiosk-search-index", daemon=True).start()


@dataclass
class KioskHandle:
    """Thread-safe inputs to a running kiosk UI."""

    vm: KioskViewModel
    library_source: LibrarySource
    _call: Callable[[Callable[[], None]], None]
    started_at: float = 0.0
    first_frame_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def update_queue(self, queue: HallQueue) -> None:
        self._call(lambda: self.vm.update_queue(queue))

    def update_library_json(self, data: bytes | str) -> None:
        """A library JSON fetched from the hub; a bad one is refused, the old one kept."""

        def apply() -> None:
            self.library_source.update_json(data)

        self._call(apply)

    def id_card_read(self, number: str, name: str = "") -> None:
        """A card reader read a 身份证 (any thread)."""
        self._call(lambda: self.vm.id_card_read(number, name))

    def code_scanned(self, text: str) -> None:
        """The scanner read a code (an appointment's QR code)."""
        self._call(lambda: self.vm.code_scanned(text))

    def update_offer(self, offer: HallOffer, *, public_base_url: str | None = None) -> None:
        """The hall's services changed; `public_base_url`: the hub, for checklist QR codes."""

        def apply() -> None:
            if public_base_url and public_base_url != self.vm.settings.public_base_url:
                self.vm.settings = replace(self.vm.settings, public_base_url=public_base_url)
            self.vm.set_offer(offer)

        self._call(apply)

    def on_main(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run `fn` on Kivy's thread; its result (or exception) in the future."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self._call(run)
        return future

    # --- for local control (tests, demos): call these on Kivy's thread (`on_main`) ---

    def snapshot(self) -> dict[str, Any]:
        """What the screen shows now: screen, texts, buttons, tickets, print problems."""
        view = self.vm.view()
        return {
            "screen": self.vm.screen.value,
            "online": view.header.online,
            "texts": [t for t in view.texts() if t],
            "buttons": [
                {"key": a.key, "label": a.label, "sub": a.sub, "enabled": a.enabled}
                for a in view.actions()
            ],
            "services": list(self.vm.offer.services),
            "matters": len(self.vm.library.matters),
            "queues": {c: q.waiting for c, q in self.vm.queues.items()},
            "issued": [
                {"number": t.number, "service": t.service, "offline": t.offline}
                for t in self.vm.issued
            ],
            "printing": self.vm.s.printing,
            "print_problems": [p.detail or p.state.value for p in self.vm.print_problems],
        }

    def tap(self, key: str) -> bool:
        """Release the on-screen button of this action key, as a finger would."""
        from kiosk_ui.screens.widgets import KioskButton

        root = self.extra.get("root")
        for widget in root.walk() if root is not None else ():
            if isinstance(widget, KioskButton) and widget.action_key == key:
                widget.dispatch("on_release")
                return True
        return False

    def screenshot(self, path: str) -> str:
        """The window's content as a PNG at `path`."""
        root = self.extra.get("root")
        if root is None:
            raise RuntimeError("the kiosk has no window yet")
        root.export_to_png(path)
        return path

    def stop(self) -> None:
        def stop() -> None:
            from kivy.app import App

            app = App.get_running_app()
            if app is not None:
                app.stop()

        self._call(stop)


def _on_main_thread(fn: Callable[[], None]) -> None:
    from kivy.clock import Clock

    Clock.schedule_once(lambda _dt: fn(), 0)


def build_app(
    *,
    source: TicketSource,
    output: TicketOutput,
    library: Library | LibrarySource,
    offer: HallOffer,
    settings: KioskSettings,
    queues: Mapping[str, HallQueue] | None = None,
    on_ready: Callable[[KioskHandle], None] | None = None,
    on_print_problem: Callable[[PrintOutcome], None] | None = None,
    started_at: float | None = None,
    clock: KioskClock | None = None,
) -> Any:
    """The Kivy `App` (Kivy must be configured first: `configure_kivy`)."""
    from kivy.app import App
    from kivy.clock import Clock

    from kiosk_ui.screens.root import KioskRoot

    register_cjk_font()
    library_source = library if isinstance(library, LibrarySource) else LibrarySource(library)
    index = SearchIndexHolder()
    t0 = started_at if started_at is not None else time.monotonic()

    class KioskApp(App):  # type: ignore[misc]
        title = settings.hall_name

        def build(self) -> Any:
            self.vm = KioskViewModel(
                source=source,
                output=output,
                offer=offer,
                library=library_source.library,
                settings=settings,
                queues=queues,
                search_index=index,
                on_print_problem=on_print_problem,
                clock=clock,
                strict=False,
            )
            self.handle = KioskHandle(self.vm, library_source, _on_main_thread, t0)

            def new_library(lib: Library) -> None:
                def apply() -> None:
                    self.vm.set_library(lib)
                    index.index = None
                    index.build(lib, lambda: _on_main_thread(self.vm.refresh))

                _on_main_thread(apply)

            library_source.subscribe(new_library)
            self.root_widget = KioskRoot(self.vm, settings.orientation)
            self.handle.extra["root"] = self.root_widget
            Clock.schedule_interval(lambda _dt: self.vm.tick(), 1.0)
            Clock.schedule_once(self._first_frame, 0)
            return self.root_widget

        def _first_frame(self, _dt: float) -> None:
            self.handle.first_frame_s = time.monotonic() - t0
            log.info("kiosk first screen after %.2f s", self.handle.first_frame_s)
            index.build(library_source.library, lambda: _on_main_thread(self.vm.refresh))
            if on_ready is not None:
                on_ready(self.handle)

    return KioskApp()


async def run_kiosk_async(**kwargs: Any) -> None:
    """`run_kiosk` on the caller's asyncio loop (Kivy must run on the main thread)."""
    app = build_app(**kwargs)
    await app.async_run(async_lib="asyncio")


def run_kiosk(
    *,
    source: TicketSource,
    output: TicketOutput,
    library: Library | LibrarySource,
    offer: HallOffer,
    settings: KioskSettings | None = None,
    queues: Mapping[str, HallQueue] | None = None,
    source_loop: asyncio.AbstractEventLoop | None = None,
    size: tuple[int, int] | None = None,
    fullscreen: bool = False,
    kivy_home: str | None = None,
    on_ready: Callable[[KioskHandle], None] | None = None,
    on_print_problem: Callable[[PrintOutcome], None] | None = None,
    clock: KioskClock | None = None,
) -> None:
    """Run the kiosk UI until its window closes (call on the main thread).

    ``source_loop``: the loop the ticket source runs on when it is not this
    thread's (the device's MQTT session on a worker thread). ``clock``: the
    wall clock for opening hours (the device passes the hub's)."""
    started = time.monotonic()
    settings = settings or KioskSettings(hall_name=offer.hall_name)
    orientation = settings.orientation if settings.orientation != "auto" else "portrait"
    configure_kivy(orientation=orientation, size=size, fullscreen=fullscreen, kivy_home=kivy_home)
    if source_loop is not None:
        source = ThreadedTicketSource(source, source_loop)
    asyncio.run(
        run_kiosk_async(
            source=source,
            output=output,
            library=library,
            offer=offer,
            settings=settings,
            queues=queues,
            on_ready=on_ready,
            on_print_problem=on_print_problem,
            started_at=started,
            clock=clock,
        )
    )
