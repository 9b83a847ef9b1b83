"""Kiosk widgets: large rounded buttons, wrapping labels, a QR code image.

Sizes are in pixels of a 1080-wide design and multiplied by the `Metrics`
scale (the short side of the window / 1080, and 1.3 more in 长者模式).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kivy.graphics import Color, RoundedRectangle
from kivy.graphics.texture import Texture
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView

from kiosk_ui.viewmodels.views import Action, Style
from uikit.paint import RGBA, hex_color

BACKGROUND = hex_color("#EEF2F7")
HEADER = hex_color("#12407A")
TEXT = hex_color("#1B2430")
MUTED = hex_color("#5B6675")
WHITE = hex_color("#FFFFFF")
WARN = hex_color("#C2410C")
ERROR = hex_color("#B42318")
OK = hex_color("#15803D")

# style → (background, pressed, text)
STYLES: dict[Style, tuple[RGBA, RGBA, RGBA]] = {
    Style.TILE: (WHITE, hex_color("#D6E4F5"), TEXT),
    Style.PRIMARY: (hex_color("#1F5FBF"), hex_color("#174A94"), WHITE),
    Style.SECONDARY: (hex_color("#DDE3EB"), hex_color("#C3CCD8"), TEXT),
    Style.KEY: (WHITE, hex_color("#D6E4F5"), TEXT),
    Style.GREEN: (hex_color("#1F8A4C"), hex_color("#17683A"), WHITE),
    Style.WARN: (hex_color("#D97706"), hex_color("#B45309"), WHITE),
}


@dataclass(frozen=True)
class Metrics:
    scale: float
    landscape: bool
    elderly: bool

    def px(self, value: float) -> float:
        return round(value * self.scale * (1.3 if self.elderly else 1.0))

    def fixed(self, value: float) -> float:
        """Not enlarged in 长者模式 (keyboards, the header)."""
        return round(value * self.scale)


class KioskButton(Button):  # type: ignore[misc]
    """A big rounded button for an `Action`: label and an optional second line."""

    def __init__(self, action: Action, m: Metrics, *, font: float = 46, height: float = 0) -> None:
        background, pressed, color = STYLES[action.style]
        if not action.enabled:
            background, pressed, color = hex_color("#E5E7EB"), hex_color("#E5E7EB"), MUTED
        size = m.fixed(font) if action.style == Style.KEY else m.px(font)
        self._caption, self._subline, self._base_size = action.label, action.sub, size
        text = self._markup(size)
        super().__init__(
            text=text,
            markup=True,
            font_size=size,
            color=color,
            halign="center",
            valign="middle",
            background_normal="",
            background_down="",
            background_color=(0, 0, 0, 0),
            size_hint_y=None if height else 1,
            height=height or 100,
        )
        self.action_key = action.key
        self.bind(size=self._wrap)
        with self.canvas.before:
            self._color = Color(*background)
            self._shape = RoundedRectangle(pos=self.pos, size=self.size, radius=[m.fixed(18)])
        self._colors = (background, pressed)
        self.bind(pos=self._follow, size=self._follow, state=self._pressed)
        self._run: Callable[[], None] = action.run
        self.bind(on_release=lambda *_: self._run())

    def _markup(self, size: float) -> str:
        text = _escape(self._caption)
        if self._subline:
            text += f"\n[size={round(self._base_size * 0.62)}]{_escape(self._subline)}[/size]"
        return text

    def _wrap(self, *_: Any) -> None:
        """Shrink a long label: short ones stay on one line, long ones on two."""
        avail = max(10.0, self.width - 28)
        n = max(1, len(self._caption))
        size = self._base_size
        sub_h = self._base_size * 0.62 * 1.3 if self._subline else 0.0
        two_lines = self.height - sub_h - 8 >= 2 * size * 1.2
        if n * size > avail:
            one_line = avail / n
            if not two_lines or (n <= 8 and one_line >= self._base_size * 0.7):
                size = max(self._base_size * 0.5, one_line)
            elif n * size > 2 * avail:
                size = max(self._base_size * 0.6, 2 * avail / (n + 1))
        self.font_size = size
        self.text = self._markup(size)
        self.text_size = (avail + 4, None)

    def _follow(self, *_: Any) -> None:
        self._shape.pos = self.pos
        self._shape.size = self.size

    def _pressed(self, *_: Any) -> None:
        self._color.rgba = self._colors[1] if self.state == "down" else self._colors[0]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("[", "&bl;").replace("]", "&br;")


class Text(Label):  # type: ignore[misc]
    """A label that wraps to its width and grows to its text."""

    def __init__(
        self,
        text: str,
        size: float,
        *,
        color: RGBA = TEXT,
        halign: str = "left",
        bold: bool = False,
        pad: float = 8,
    ) -> None:
        super().__init__(
            text=text,
            font_size=size,
            color=color,
            halign=halign,
            valign="middle",
            bold=bold,
            size_hint_y=None,
            height=size * 1.4,
        )
        self._pad = pad
        self.bind(width=self._wrap, texture_size=self._grow)

    def _wrap(self, *_: Any) -> None:
        self.text_size = (self.width, None)

    def _grow(self, *_: Any) -> None:
        self.height = self.texture_size[1] + self._pad


def column(spacing: float, padding: float = 0) -> BoxLayout:
    """A vertical box as tall as its children (for scroll views)."""
    box = BoxLayout(orientation="vertical", spacing=spacing, padding=padding, size_hint_y=None)
    box.bind(minimum_height=box.setter("height"))
    return box


def grid(cols: int, spacing: float, row_height: float) -> GridLayout:
    g = GridLayout(
        cols=cols,
        spacing=spacing,
        size_hint_y=None,
        row_default_height=row_height,
        row_force_default=True,
    )
    g.bind(minimum_height=g.setter("height"))
    return g


def scroller(content: Any) -> ScrollView:
    view = ScrollView(do_scroll_x=False, bar_width=10, scroll_type=["bars", "content"])
    view.add_widget(content)
    return view


def qr_image(matrix: list[list[bool]], side: float) -> Image:
    """The QR code drawn from its module matrix, crisp at any size."""
    n = len(matrix)
    data = bytearray()
    for row in reversed(matrix):  # textures start at the bottom
        for dark in row:
            data += b"\x00\x00\x00" if dark else b"\xff\xff\xff"
    texture = Texture.create(size=(n, n), colorfmt="rgb")
    texture.blit_buffer(bytes(data), colorfmt="rgb", bufferfmt="ubyte")
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    image = Image(texture=texture, size_hint=(None, None), size=(side, side), fit_mode="contain")
    image.texture = texture
    return image
