"""The board's state and logic, without Kivy: the retained hall topics in,
a `BoardView` and the new calls (for the voice) out.

The device's agent loop feeds it (`apply`), Kivy's thread reads it (`view`),
so every public method takes one lock. Nothing here blocks or does I/O.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from broker.contract import BoardCall, HallCalls, HallQueue, HallWindow, Message, Payload
from display.board.calls import CallTracker
from display.board.highlight import HighlightQueue
from display.board.settings import BoardKind, BoardSettings
from display.board.views import (
    DEFAULT_TITLE,
    BoardView,
    CallRow,
    WaitRow,
    WindowPanel,
    clock_texts,
    serial_line,
)

log = logging.getLogger(__name__)

Listener = Callable[[], None]


class BoardViewModel:
    """One board: hall board, area board or window display (`BoardSettings.board`)."""

    def __init__(
        self,
        settings: BoardSettings | None = None,
        *,
        timezone: str = "Asia/Shanghai",
        hall_name: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.settings = settings or BoardSettings()
        self._tz = ZoneInfo(timezone)
        self._hall_name = hall_name
        self._monotonic = monotonic
        self._wall = wall or (lambda: dt.datetime.now(self._tz))
        self._lock = threading.RLock()
        self._calls: tuple[BoardCall, ...] = ()
        self._windows: dict[int, HallWindow] = {}
        self._queues: dict[str, HallQueue] = {}
        self._tracker = CallTracker()
        self._highlights = HighlightQueue(self.settings.highlight_s)
        self._listeners: list[Listener] = []
        self.changes = 0
        """Counts every change of what the board shows (not the clock)."""

    # --- inputs ---------------------------------------------------------------------

    def configure(self, settings: BoardSettings) -> None:
        with self._lock:
            if settings == self.settings:
                return
            self.settings = settings
            self._highlights.hold_s = settings.highlight_s
            self._highlights.clear()  # another scope: the old turns may not belong here
        self._changed()

    def apply(self, msg: Message) -> list[BoardCall]:
        """A validated hall message; returns the new calls this board shows, oldest first."""
        return self.apply_payload(msg.payload, retained=msg.retained)

    def apply_payload(self, payload: Payload, *, retained: bool = False) -> list[BoardCall]:
        with self._lock:
            fresh: list[BoardCall] = []
            if isinstance(payload, HallCalls):
                self._calls = payload.calls
                fresh = [c for c in self._tracker.offer(payload.calls, retained=retained)
                         if self._in_scope(c)]  # fmt: skip
                if fresh:
                    self._highlights.push(fresh, self._monotonic())
            elif isinstance(payload, HallWindow):
                self._windows[payload.window] = payload
            elif isinstance(payload, HallQueue):
                self._queues[payload.service] = payload
            else:
                return []
        self._changed()
        return fresh

    def on_change(self, listener: Listener) -> None:
        """`listener()` after every change (on the thread that made it)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        self.changes += 1
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a broken screen must not stop the board's logic
                log.exception("board listener failed")

    # --- scope ----------------------------------------------------------------------

    def _in_scope(self, call: BoardCall) -> bool:
        s = self.settings
        if s.board is BoardKind.AREA:
            return call.area == s.area
        if s.board is BoardKind.WINDOW:
            return call.window == s.window
        return True

    def _waits(self) -> tuple[WaitRow, ...]:
        chosen = self.settings.services
        queues = [q for code, q in self._queues.items() if not chosen or code in chosen]
        if chosen:  # the admin's order
            queues.sort(key=lambda q: chosen.index(q.service))
        else:
            queues.sort(key=lambda q: (q.prefix, q.service))
        return tuple(WaitRow.of(q) for q in queues)

    # --- outputs --------------------------------------------------------------------

    def view(self) -> BoardView:
        with self._lock:
            now = self._monotonic()
            s = self.settings
            lit = self._highlights.highlighted(now)
            featured = self._highlights.featured(now)
            shown = [c for c in self._calls if self._in_scope(c)][: s.calls_shown]
            rows = tuple(CallRow.of(c, highlighted=c.ticket in lit) for c in shown)
            panel = None
            if s.board is BoardKind.WINDOW and s.window is not None:
                latest = shown[0] if shown else None
                lit_here = latest is not None and latest.ticket in lit
                window = self._windows.get(s.window)
                panel = WindowPanel.of(s.window, window, latest, highlighted=lit_here)
            clock, date = clock_texts(self._wall().astimezone(self._tz))
            # Over a window its name is already large: the heading names the hall.
            default = self._hall_name if s.board is not BoardKind.AREA else None
            title = s.title or default or DEFAULT_TITLE
            connected = self._tracker.primed or bool(self._windows) or bool(self._queues)
            return BoardView(
                kind=s.board,
                title=title,
                featured=CallRow.of(featured, highlighted=True) if featured else None,
                calls=rows,
                waits=self._waits(),
                window=panel,
                notices="　　".join(n.strip() for n in s.notices if n.strip()),
                clock=clock,
                date=date,
                connected=connected,
            )

    def serial_lines(self) -> list[str]:
        """What a legacy serial LED board shows: the newest calls, or the window."""
        view = self.view()
        if view.window is not None:
            return view.window.serial_lines()[: self.settings.serial_lines]
        return [serial_line(r.ticket, r.window_name) for r in view.calls][
            : self.settings.serial_lines
        ]
