"""The board's Kivy widget: lays out a `display.board.BoardView`, nothing more.

Readable at 10 m: on a 55-inch 1080p panel a pixel is about 0.63 mm, and
text needs a cap height of roughly 1/250 of the distance (4 cm), so ticket
numbers and window names are drawn at 90 px and more on a 1080-high screen;
the smallest text (service names, waits) stays above 48 px. Light text on a
dark ground, as LED boards are, so a hall's bright lights do not wash it out.

Rebuilt from the view whenever what it shows changes; a clock that moved
only updates its label, and the notice ticker keeps scrolling across
rebuilds.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Final

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

from display.board import BoardView, BoardViewModel, CallRow, WaitRow, WindowPanel
from uikit.paint import RGBA, hex_color, paint

log = logging.getLogger(__name__)

GROUND = hex_color("#0A1A33")
PANEL = hex_color("#12284D")
BAR = hex_color("#0E3A7A")
TEXT = hex_color("#FFFFFF")
MUTED = hex_color("#9FB3D1")
NUMBER = hex_color("#FFD54A")  # ticket numbers: amber, as on LED boards
LIT = hex_color("#F59E0B")  # a new call's row
LIT_TEXT = hex_color("#10203A")
BANNER = hex_color("#B91C1C")  # the call being featured
TICKER_PX_PER_S: Final = 120.0
WAIT_ROWS: Final = 6


def label(text: str, size: float, *, color: RGBA = TEXT, halign: str = "center",
          bold: bool = False, **kw: Any) -> Label:  # fmt: skip
    """A one-line label that fills its box; too long a text is shortened, not wrapped."""
    widget = Label(text=text, font_size=size, color=color, halign=halign, valign="middle",
                   bold=bold, shorten=True, shorten_from="right", **kw)  # fmt: skip
    widget.bind(size=lambda w, s: setattr(w, "text_size", (s[0], None)))
    return widget


class Ticker(StencilView):  # type: ignore[misc]
    """The notices, scrolling right to left, clipped to the bar."""

    def __init__(self, height: float) -> None:
        super().__init__(size_hint_y=None, height=height)
        paint(self, BAR)
        self._label = Label(text="", font_size=height * 0.55, color=TEXT, size_hint=(None, None))
        self._label.bind(texture_size=lambda w, s: setattr(w, "size", s))
        self.add_widget(self._label)
        self._x = 0.0
        self._event = Clock.schedule_interval(self._scroll, 1 / 30)

    @property
    def text(self) -> str:
        return str(self._label.text)

    @text.setter
    def text(self, value: str) -> None:
        if value != self._label.text:
            self._label.text = value
            self._x = 0.0

    def _scroll(self, dt: float) -> None:
        lab = self._label
        if not lab.text:
            return
        if lab.width <= self.width:  # fits: stands still, centred
            lab.pos = (self.x + (self.width - lab.width) / 2, self.center_y - lab.height / 2)
            return
        self._x -= TICKER_PX_PER_S * dt
        if self._x < -lab.width:
            self._x = self.width
        lab.pos = (self.x + self._x, self.center_y - lab.height / 2)

    def stop(self) -> None:
        self._event.cancel()


class BoardScreen(BoxLayout):  # type: ignore[misc]
    """Hall board, area board or window display, landscape or portrait."""

    def __init__(self, vm: BoardViewModel, *, orientation: str = "landscape") -> None:
        super().__init__(orientation="vertical")
        self.vm = vm
        self.portrait = orientation == "portrait"
        paint(self, GROUND)
        self.renders = 0
        self.drawn: BoardView | None = None
        """The view on screen now."""
        self._clock: Label | None = None
        self._date: Label | None = None
        self.ticker = Ticker(self.u(84))
        self._trigger = Clock.create_trigger(self.refresh, 0)
        Window.bind(size=lambda *_: self.redraw())
        self.refresh()

    def u(self, px: float) -> float:
        """Pixels of a 1080-wide (portrait) or 1080-high (landscape) design, scaled."""
        w, h = Window.size
        return float(round(px * min(w, h) / 1080))

    # --- updates --------------------------------------------------------------------

    def redraw(self) -> None:
        """Thread-safe: draw on Kivy's next frame."""
        self.drawn = None
        self._trigger()

    def changed(self) -> None:
        """Thread-safe: the view-model changed."""
        self._trigger()

    def refresh(self, *_: Any) -> None:
        try:
            view = self.vm.view()
            if self.drawn is not None and _same_but_clock(view, self.drawn):
                if self._clock is not None and self._date is not None:
                    self._clock.text, self._date.text = view.clock, view.date
                return
            self._draw(view)
        except Exception:  # a board that cannot draw one view keeps the last one
            log.exception("board render failed")

    def _draw(self, view: BoardView) -> None:
        self.renders += 1
        self.drawn = view
        self.clear_widgets()
        self.add_widget(self._header(view))
        if view.window is not None:
            self.add_widget(self._window(view.window))
        else:
            self.add_widget(self._banner(view))
            self.add_widget(self._body(view))
        self.ticker.text = view.notices or "请留意叫号信息，过号请到窗口重新排队"
        self.add_widget(self.ticker)

    # --- pieces ---------------------------------------------------------------------

    def _header(self, view: BoardView) -> BoxLayout:
        u = self.u
        bar = BoxLayout(size_hint_y=None, height=u(120), padding=(u(36), u(8)), spacing=u(20))
        paint(bar, BAR)
        bar.add_widget(label(view.title, u(52 if self.portrait else 64), halign="left", bold=True))
        self._date = label(view.date, u(40), color=MUTED, halign="right",
                           size_hint_x=None, width=u(300))  # fmt: skip
        self._clock = label(view.clock, u(76), bold=True, halign="right",
                            size_hint_x=None, width=u(230))  # fmt: skip
        bar.add_widget(self._date)
        bar.add_widget(self._clock)
        return bar

    def _banner(self, view: BoardView) -> BoxLayout:
        u = self.u
        featured = view.featured
        box = BoxLayout(size_hint_y=None, height=u(300 if self.portrait else 190),
                        padding=(u(30), u(10)))  # fmt: skip
        if featured is None:
            paint(box, PANEL)
            text = view.calls[0].sentence if view.calls else view.empty_text
            box.add_widget(label(text, u(72), color=MUTED))
            return box
        paint(box, BANNER)
        recall = "（重呼）" if featured.recall else ""
        ticket = f"[color=#FFE066]{featured.ticket}[/color]"
        words = f"请 {ticket} 号 到 {featured.window_name} 办理{recall}"
        size = u(100 if self.portrait else 120)
        if self.portrait:  # two lines: the number, then where to go
            words = f"请 {ticket} 号\n到 {featured.window_name} 办理{recall}"
        banner = Label(text=words, markup=True, font_size=size, bold=True, color=TEXT,
                       halign="center", valign="middle")  # fmt: skip
        banner.bind(size=lambda w, s: setattr(w, "text_size", s))
        box.add_widget(banner)
        return box

    def _body(self, view: BoardView) -> BoxLayout:
        u = self.u
        body = BoxLayout(orientation="vertical" if self.portrait else "horizontal",
                         padding=u(24), spacing=u(24))  # fmt: skip
        calls = self._calls(view)
        body.add_widget(calls)
        if not view.waits:
            return body
        waits = self._waits(view.waits)
        if self.portrait:  # as tall as its rows; the calls take the rest
            waits.size_hint_y = None
            waits.height = u(64 + 86 * min(len(view.waits), WAIT_ROWS) + 30)
        else:
            calls.size_hint_x = 1.55
        body.add_widget(waits)
        return body

    def _calls(self, view: BoardView) -> BoxLayout:
        u = self.u
        table = BoxLayout(orientation="vertical", spacing=u(6))
        head = BoxLayout(size_hint_y=None, height=u(64))
        for text, weight in (("号码", 1.0), ("请到", 1.25), ("业务", 1.1)):
            head.add_widget(label(text, u(44), color=MUTED, size_hint_x=weight))
        table.add_widget(head)
        rows = view.calls[: self._rows_that_fit()]
        if not rows:
            table.add_widget(label(view.empty_text, u(60), color=MUTED))
            return table
        for row in rows:
            table.add_widget(self._call_row(row))
        for _ in range(self._rows_that_fit() - len(rows)):
            table.add_widget(Widget())  # keep rows the same height
        return table

    def _rows_that_fit(self) -> int:
        fit = 7 if self.portrait else 6
        return min(fit, self.vm.settings.calls_shown)

    def _call_row(self, row: CallRow) -> BoxLayout:
        u = self.u
        line = BoxLayout(padding=(u(12), 0))
        paint(line, LIT if row.highlighted else PANEL, radius=u(10))
        number, text = (LIT_TEXT, LIT_TEXT) if row.highlighted else (NUMBER, TEXT)
        line.add_widget(label(row.ticket, u(96), color=number, bold=True))
        line.add_widget(label(row.window_name, u(84), color=text, bold=True, size_hint_x=1.25))
        service = row.service + ("（重呼）" if row.recall else "")
        line.add_widget(label(service, u(50), color=text, size_hint_x=1.1))
        return line

    def _waits(self, waits: tuple[WaitRow, ...]) -> BoxLayout:
        u = self.u
        table = BoxLayout(orientation="vertical", spacing=u(6))
        paint(table, PANEL, radius=u(12))
        head = BoxLayout(size_hint_y=None, height=u(64), padding=(u(12), 0))
        for text, weight in (("业务", 1.5), ("等候", 0.8), ("预计等候", 1.1)):
            head.add_widget(label(text, u(44), color=MUTED, size_hint_x=weight))
        table.add_widget(head)
        for wait in waits[:WAIT_ROWS]:
            line = BoxLayout(size_hint_y=None, height=u(86), padding=(u(12), 0))
            line.add_widget(label(f"{wait.prefix} {wait.service}", u(50), size_hint_x=1.5,
                                  halign="left"))  # fmt: skip
            line.add_widget(label(f"{wait.waiting} 人", u(56), color=NUMBER, bold=True,
                                  size_hint_x=0.8))  # fmt: skip
            line.add_widget(label(wait.wait, u(48), size_hint_x=1.1))
            table.add_widget(line)
        table.add_widget(Widget())
        return table

    def _window(self, panel: WindowPanel) -> BoxLayout:
        u = self.u
        box = BoxLayout(orientation="vertical", padding=u(30), spacing=u(10))
        paint(box, LIT if panel.highlighted else GROUND)
        number, text = (LIT_TEXT, LIT_TEXT) if panel.highlighted else (NUMBER, TEXT)
        box.add_widget(label(panel.name, u(110), color=text, bold=True))
        box.add_widget(label(panel.ticket or "—", u(360 if self.portrait else 300),
                             color=number, bold=True, size_hint_y=2.6))  # fmt: skip
        box.add_widget(label(panel.state, u(110), color=text, bold=True))
        return box


def _same_but_clock(a: BoardView, b: BoardView) -> bool:
    return replace(a, clock="", date="") == replace(b, clock="", date="")
