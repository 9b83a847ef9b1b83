"""The board's Kivy widget: lays out a `display.board.BoardView`, nothing more.

Readable at 10 m: on a 55-inch 1080p panel a pixel is about 0.63 mm, and
text needs a cap height of roughly 1/250 of the distance (4 cm), so ticket
numbers and window names are drawn at 90 px and more on a 1080-high screen;
the smallest text (service names, waits) stays above 48 px. Light text on a
dark ground, as LED boards are, so a hall's bright lights do not wash it out.

Built once per layout (orientation, window size, window display or list
board, rows that fit, wait rows, any calls at all: `Layout`); every other
change only sets label texts and colours in place. Building the board means
about 60 labels of large CJK text, each a new texture, which in software GL
cost 150–250 ms a change on a loaded Pi-class box; updating in place touches
only the labels whose text changed. The notice ticker keeps scrolling across
both.

Every frame is drawn whole (the ticker moves 30 times a second, 8 without
a GPU: `ticker_steps_per_s`), and on a box without a GPU (Mesa's llvmpipe)
a frame costs in proportion to the pixels filled: the dark ground is the
window's clear colour, not a full-screen rectangle drawn over it, and the
ticker clips by scissor, not by a stencil (which draws the bar twice more
each frame). With no multisampling
(`uikit.kivy_setup`) they took a 1920×1080 frame from ~70 to 19–32 ms on
the 2-core test box (docs/display.md, "Frame cost without a GPU").
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Final

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics import Color, Rectangle
from kivy.graphics.opengl import GL_RENDERER, glGetString
from kivy.graphics.scissor_instructions import ScissorPop, ScissorPush
from kivy.lang import Builder
from kivy.properties import ListProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
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
CLEAR: Final = (0.0, 0.0, 0.0, 0.0)
TICKER_PX_PER_S: Final = 120.0
# Steps of the notice ticker per second. Each step redraws the whole screen:
# with a GPU a few milliseconds, but rasterised in software (Mesa's llvmpipe,
# a board without a GPU) a 1920×1080 frame costs 20–35 ms, and at 30 steps
# the board spent most of its time on the ticker, so a new call waited
# behind ticker frames (docs/display.md, "Frame cost without a GPU"). The
# text moves at the same speed in bigger steps.
TICKER_STEPS_PER_S: Final = 30
TICKER_STEPS_PER_S_SOFTWARE: Final = 8
_SOFTWARE_RENDERERS: Final = ("llvmpipe", "softpipe", "swrast")
WAIT_ROWS: Final = 6
DEFAULT_NOTICE: Final = "请留意叫号信息，过号请到窗口重新排队"


class TintLabel(Label):  # type: ignore[misc]
    """A label whose text is rendered white once and coloured when drawn.

    Kivy renders a label's text into a texture with its colour baked in, so
    recolouring a label (a call's row lit, then back when its turn is over)
    renders large CJK text again: 5–40 ms of CPU on a box without a GPU.
    Here the texture stays white and the canvas multiplies it by `tint`."""

    tint = ListProperty(list(TEXT))


Builder.load_string("""
<-TintLabel>:
    canvas:
        Color:
            rgba: self.tint
        Rectangle:
            texture: self.texture
            size: self.texture_size
            pos: int(self.center_x - self.texture_size[0] / 2.), \
                int(self.center_y - self.texture_size[1] / 2.)
""")


def label(text: str, size: float, *, color: RGBA = TEXT, halign: str = "center",
          bold: bool = False, **kw: Any) -> TintLabel:  # fmt: skip
    """A one-line label that fills its box; too long a text is shortened, not wrapped."""
    widget = TintLabel(text=text, font_size=size, tint=list(color), halign=halign,
                       valign="middle", bold=bold, shorten=True, shorten_from="right",
                       **kw)  # fmt: skip
    widget.bind(size=lambda w, s: setattr(w, "text_size", (s[0], None)))
    return widget


def _set(widget: Label, text: str, color: RGBA | None = None) -> None:
    # Kivy re-renders a label's texture when its text changes (an equal value
    # dispatches nothing); a colour is only the canvas's tint.
    widget.text = text
    if color is not None:
        widget.tint = list(color)


def software_rendered() -> bool:
    """Whether OpenGL is rasterised on the CPU (no GPU, or none in use)."""
    renderer = glGetString(GL_RENDERER) or b""
    name = renderer.decode(errors="replace") if isinstance(renderer, bytes) else str(renderer)
    return any(s in name.lower() for s in _SOFTWARE_RENDERERS)


def ticker_steps_per_s() -> int:
    return TICKER_STEPS_PER_S_SOFTWARE if software_rendered() else TICKER_STEPS_PER_S


class Ticker(Widget):  # type: ignore[misc]
    """The notices, scrolling right to left, clipped to the bar."""

    def __init__(self, height: float) -> None:
        super().__init__(size_hint_y=None, height=height)
        paint(self, BAR)
        with self.canvas.before:
            self._clip = ScissorPush(x=0, y=0, width=1, height=1)
        with self.canvas.after:
            ScissorPop()
        self.bind(pos=self._follow, size=self._follow)
        self._label = Label(text="", font_size=height * 0.55, color=TEXT, size_hint=(None, None))
        self._label.bind(texture_size=lambda w, s: setattr(w, "size", s))
        self.add_widget(self._label)
        self._x = 0.0
        self.steps_per_s = ticker_steps_per_s()
        self._event = Clock.schedule_interval(self._scroll, 1 / self.steps_per_s)

    def _follow(self, *_: Any) -> None:
        # Window coordinates, whatever transforms apply (see `unclipped`).
        x, y = (int(v) for v in self.to_window(*self.pos))
        self._clip.x, self._clip.y = x, y
        self._clip.width, self._clip.height = int(self.width), int(self.height)

    @contextlib.contextmanager
    def unclipped(self) -> Iterator[None]:
        """For a picture: an export draws flipped into its own buffer, where a
        window-space scissor would cut the wrong strip (the text there only
        runs off the sides, which the picture's edges cut anyway)."""
        self._clip.x, self._clip.y, self._clip.width, self._clip.height = 0, 0, 1 << 15, 1 << 15
        try:
            yield
        finally:
            self._follow()

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


@dataclass(frozen=True)
class Layout:
    """What decides which widgets the board has; anything else is updated in place."""

    size: tuple[int, int]
    portrait: bool
    window_display: bool
    rows: int  # call rows that fit
    any_calls: bool  # no calls: one line saying so instead of the rows
    waits: int  # wait rows shown


class Header(BoxLayout):  # type: ignore[misc]
    def __init__(self, u: Any, portrait: bool) -> None:
        super().__init__(size_hint_y=None, height=u(120), padding=(u(36), u(8)), spacing=u(20))
        paint(self, BAR)
        self.title = label("", u(52 if portrait else 64), halign="left", bold=True)
        self.date = label("", u(40), color=MUTED, halign="right", size_hint_x=None, width=u(300))
        self.clock = label("", u(76), bold=True, halign="right", size_hint_x=None, width=u(230))
        for widget in (self.title, self.date, self.clock):
            self.add_widget(widget)

    def show(self, view: BoardView) -> None:
        _set(self.title, view.title)
        _set(self.date, view.date)
        _set(self.clock, view.clock)


class Banner(BoxLayout):  # type: ignore[misc]
    """The featured call in red, or (nothing featured) the latest call, muted."""

    def __init__(self, u: Any, portrait: bool) -> None:
        super().__init__(size_hint_y=None, height=u(300 if portrait else 190),
                         padding=(u(30), u(10)))  # fmt: skip
        self.portrait = portrait
        self._ground = paint(self, PANEL)
        self._idle = label("", u(72), color=MUTED)
        self._call = Label(text="", markup=True, font_size=u(100 if portrait else 120), bold=True,
                           color=TEXT, halign="center", valign="middle")  # fmt: skip
        self._call.bind(size=lambda w, s: setattr(w, "text_size", s))
        self.add_widget(self._idle)

    def show(self, view: BoardView) -> None:
        featured = view.featured
        shown, hidden = (self._idle, self._call) if featured is None else (self._call, self._idle)
        if shown.parent is None:
            self.remove_widget(hidden)
            self.add_widget(shown)
        if featured is None:
            self._ground.rgba = PANEL
            _set(self._idle, view.calls[0].sentence if view.calls else view.empty_text)
            return
        self._ground.rgba = BANNER
        recall = "（重呼）" if featured.recall else ""
        ticket = f"[color=#FFE066]{featured.ticket}[/color]"
        gap = "\n" if self.portrait else " "  # portrait: the number, then where to go
        _set(self._call, f"请 {ticket} 号{gap}到 {featured.window_name} 办理{recall}")


class CallLine(BoxLayout):  # type: ignore[misc]
    """One row of the calls list; blank (no ground, no text) below the last call."""

    def __init__(self, u: Any) -> None:
        super().__init__(padding=(u(12), 0))
        self.row: CallRow | None = None  # blank until shown a call
        self._ground = paint(self, CLEAR, radius=u(10))
        self.ticket = label("", u(96), color=NUMBER, bold=True)
        self.window = label("", u(84), bold=True, size_hint_x=1.25)
        self.service = label("", u(50), size_hint_x=1.1)
        for widget in (self.ticket, self.window, self.service):
            self.add_widget(widget)

    def show(self, row: CallRow | None) -> None:
        if row == self.row:
            return
        self.row = row
        if row is None:
            self._ground.rgba = CLEAR
            for widget in (self.ticket, self.window, self.service):
                _set(widget, "")
            return
        self._ground.rgba = LIT if row.highlighted else PANEL
        number, text = (LIT_TEXT, LIT_TEXT) if row.highlighted else (NUMBER, TEXT)
        _set(self.ticket, row.ticket, number)
        _set(self.window, row.window_name, text)
        _set(self.service, row.service + ("（重呼）" if row.recall else ""), text)


class WaitLine(BoxLayout):  # type: ignore[misc]
    def __init__(self, u: Any) -> None:
        super().__init__(size_hint_y=None, height=u(86), padding=(u(12), 0))
        self.service = label("", u(50), size_hint_x=1.5, halign="left")
        self.waiting = label("", u(56), color=NUMBER, bold=True, size_hint_x=0.8)
        self.wait = label("", u(48), size_hint_x=1.1)
        for widget in (self.service, self.waiting, self.wait):
            self.add_widget(widget)

    def show(self, wait: WaitRow) -> None:
        _set(self.service, f"{wait.prefix} {wait.service}")
        _set(self.waiting, f"{wait.waiting} 人")
        _set(self.wait, wait.wait)


class WindowBox(BoxLayout):  # type: ignore[misc]
    """A window display: the window's name, its ticket, what happens there."""

    def __init__(self, u: Any, portrait: bool) -> None:
        super().__init__(orientation="vertical", padding=u(30), spacing=u(10))
        self._ground = paint(self, GROUND)
        self.name = label("", u(110), bold=True)
        self.ticket = label("", u(360 if portrait else 300), bold=True, size_hint_y=2.6)
        self.state = label("", u(110), bold=True)
        for widget in (self.name, self.ticket, self.state):
            self.add_widget(widget)

    def show(self, panel: WindowPanel) -> None:
        self._ground.rgba = LIT if panel.highlighted else GROUND
        number, text = (LIT_TEXT, LIT_TEXT) if panel.highlighted else (NUMBER, TEXT)
        _set(self.name, panel.name, text)
        _set(self.ticket, panel.ticket or "—", number)
        _set(self.state, panel.state, text)


def _table_head(u: Any, columns: tuple[tuple[str, float], ...], **kw: Any) -> BoxLayout:
    head = BoxLayout(size_hint_y=None, height=u(64), **kw)
    for text, weight in columns:
        head.add_widget(label(text, u(44), color=MUTED, size_hint_x=weight))
    return head


class BoardScreen(BoxLayout):  # type: ignore[misc]
    """Hall board, area board or window display, landscape or portrait."""

    def __init__(self, vm: BoardViewModel, *, orientation: str = "landscape") -> None:
        super().__init__(orientation="vertical")
        self.vm = vm
        self.portrait = orientation == "portrait"
        Window.clearcolor = GROUND  # the ground: cleared, not filled (see above)
        with self.canvas.before:
            Color(*GROUND)
            self._export_ground = Rectangle(size=(0, 0))
        self.renders = 0
        """Views put on screen (each change of what the board shows)."""
        self.builds = 0
        """Times the widgets were built (each change of `Layout`)."""
        self.drawn: BoardView | None = None
        """The view on screen now."""
        self.layout: Layout | None = None
        self._header: Header | None = None
        self._banner: Banner | None = None
        self._calls: list[CallLine] = []
        self._no_calls: Label | None = None
        self._waits: list[WaitLine] = []
        self._window: WindowBox | None = None
        self.ticker = Ticker(self.u(84))
        self._trigger = Clock.create_trigger(self.refresh, 0)
        Window.bind(size=lambda *_: self.redraw())
        self.refresh()

    def export_to_png(self, filename: str, *args: Any, **kwargs: Any) -> Any:
        """A picture of the board with its ground (an export does not clear to the
        window's colour, so the ground is filled under it for the picture only)."""
        self._export_ground.pos, self._export_ground.size = self.pos, self.size
        try:
            with self.ticker.unclipped():
                return super().export_to_png(filename, *args, **kwargs)
        finally:
            self._export_ground.size = (0, 0)

    def u(self, px: float) -> float:
        """Pixels of a 1080-wide (portrait) or 1080-high (landscape) design, scaled."""
        w, h = Window.size
        return float(round(px * min(w, h) / 1080))

    # --- updates --------------------------------------------------------------------

    def redraw(self) -> None:
        """Thread-safe: build the board again on Kivy's next frame (the window resized)."""
        self.drawn = None
        self.layout = None
        self._trigger()

    def changed(self) -> None:
        """Thread-safe: the view-model changed."""
        self._trigger()

    def refresh(self, *_: Any) -> None:
        try:
            view = self.vm.view()
            if self.drawn is not None and _same_but_clock(view, self.drawn):
                if self._header is not None:
                    self._header.show(view)
                return
            self._draw(view)
        except Exception:  # a board that cannot draw one view keeps the last one
            log.exception("board render failed")

    def _draw(self, view: BoardView) -> None:
        layout = self._layout_of(view)
        if layout != self.layout:
            self._build(layout)
        self.renders += 1
        self.drawn = view
        assert self._header is not None
        self._header.show(view)
        if view.window is not None and self._window is not None:
            self._window.show(view.window)
        if self._banner is not None:
            self._banner.show(view)
        if self._no_calls is not None:
            _set(self._no_calls, view.empty_text)
        self._show_calls(view.calls)
        for line, wait in zip(self._waits, view.waits, strict=False):
            line.show(wait)
        self.ticker.text = view.notices or DEFAULT_NOTICE

    def _show_calls(self, calls: tuple[CallRow, ...]) -> None:
        """A call keeps its line as it moves down the list (its texts, already
        rendered, move with it); a new call takes the line of one that left."""
        lines = self._calls
        wanted = calls[: len(lines)]
        showing = {line.row.ticket: line for line in lines if line.row is not None}
        order = [showing.pop(row.ticket, None) for row in wanted]
        free = [line for line in lines if not any(line is taken for taken in order)]
        placed = [line if line is not None else free.pop(0) for line in order] + free
        for i, line in enumerate(placed):
            line.show(wanted[i] if i < len(wanted) else None)
        if placed != lines:
            table = lines[0].parent
            for line in lines:
                table.remove_widget(line)
            for line in placed:
                table.add_widget(line)
            self._calls = placed

    def _layout_of(self, view: BoardView) -> Layout:
        w, h = Window.size
        rows = min(7 if self.portrait else 6, self.vm.settings.calls_shown)
        return Layout(
            size=(int(w), int(h)),
            portrait=self.portrait,
            window_display=view.window is not None,
            rows=rows,
            any_calls=bool(view.calls[:rows]),
            waits=min(len(view.waits), WAIT_ROWS),
        )

    # --- building (once per layout) -------------------------------------------------

    def _build(self, layout: Layout) -> None:
        self.builds += 1
        self.layout = layout
        self.clear_widgets()
        self._banner, self._window, self._no_calls = None, None, None
        self._calls, self._waits = [], []
        self._header = Header(self.u, self.portrait)
        self.add_widget(self._header)
        if layout.window_display:
            self._window = WindowBox(self.u, self.portrait)
            self.add_widget(self._window)
        else:
            self._banner = Banner(self.u, self.portrait)
            self.add_widget(self._banner)
            self.add_widget(self._body(layout))
        self.add_widget(self.ticker)

    def _body(self, layout: Layout) -> BoxLayout:
        u = self.u
        body = BoxLayout(orientation="vertical" if self.portrait else "horizontal",
                         padding=u(24), spacing=u(24))  # fmt: skip
        calls = self._calls_table(layout)
        body.add_widget(calls)
        if not layout.waits:
            return body
        waits = self._waits_table(layout.waits)
        if self.portrait:  # as tall as its rows; the calls take the rest
            waits.size_hint_y = None
            waits.height = u(64 + 86 * layout.waits + 30)
        else:
            calls.size_hint_x = 1.55
        body.add_widget(waits)
        return body

    def _calls_table(self, layout: Layout) -> BoxLayout:
        u = self.u
        table = BoxLayout(orientation="vertical", spacing=u(6))
        table.add_widget(_table_head(u, (("号码", 1.0), ("请到", 1.25), ("业务", 1.1))))
        if not layout.any_calls:
            self._no_calls = label("", u(60), color=MUTED)
            table.add_widget(self._no_calls)
            return table
        # Every row that fits, the unused ones blank: rows keep the same height.
        self._calls = [CallLine(u) for _ in range(layout.rows)]
        for line in self._calls:
            table.add_widget(line)
        return table

    def _waits_table(self, rows: int) -> BoxLayout:
        u = self.u
        table = BoxLayout(orientation="vertical", spacing=u(6))
        paint(table, PANEL, radius=u(12))
        head = (("业务", 1.5), ("等候", 0.8), ("预计等候", 1.1))
        table.add_widget(_table_head(u, head, padding=(u(12), 0)))
        self._waits = [WaitLine(u) for _ in range(rows)]
        for line in self._waits:
            table.add_widget(line)
        table.add_widget(Widget())
        return table


def _same_but_clock(a: BoardView, b: BoardView) -> bool:
    return replace(a, clock="", date="") == replace(b, clock="", date="")
