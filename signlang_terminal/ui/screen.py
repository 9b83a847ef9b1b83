"""The two screens as Kivy widgets: `CitizenPane` (the deaf citizen's side:
button, waiting, the interpreter large and the citizen small, text, 结束通话)
and `ClerkPane` (the window clerk's side: status and the interpreter's text).

Each pane is rebuilt from the view-model's immutable views when they change;
the video pictures, the text box and their textures persist across rebuilds.
Import only after `uikit.kivy_setup.configure_kivy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from kivy.graphics.texture import Texture
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.textinput import TextInput

from signlang_terminal.viewmodel import CitizenView, ClerkView, TerminalViewModel, TextLine
from uikit.paint import RGBA, hex_color, paint

GROUND = hex_color("#F4F7FB")
BAR = hex_color("#0E3A7A")
TEXT = hex_color("#10203A")
MUTED = hex_color("#52627A")
CALL = hex_color("#1565C0")
END = hex_color("#C62828")
QUIET = hex_color("#64748B")
RECORDING = hex_color("#B71C1C")
LINES_SHOWN: Final = 6

Picture = Callable[[], Any]  # the newest RGB picture (H×W×3 uint8) or None


def text(value: str, size: float, *, color: RGBA = TEXT, bold: bool = False, **kw: Any) -> Label:
    """A label that wraps inside its box."""
    label = Label(text=value, font_size=size, color=color, bold=bold,
                  halign="center", valign="middle", **kw)  # fmt: skip
    label.bind(size=lambda w, s: setattr(w, "text_size", s))
    return label


def button(value: str, color: RGBA, run: Callable[[], None], size: float = 40, **kw: Any) -> Button:
    b = Button(text=value, font_size=size, bold=True, background_normal="",
               background_color=color, color=(1, 1, 1, 1), **kw)  # fmt: skip
    b.bind(on_release=lambda *_: run())
    return b


class VideoPicture(Image):  # type: ignore[misc]
    """Shows RGB frames; the texture is made again only when the size changes."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(fit_mode="contain", **kw)
        paint(self, hex_color("#000000"))
        self._shape: tuple[int, int] | None = None

    def show(self, rgb: Any) -> None:
        if rgb is None:
            return
        height, width = rgb.shape[:2]
        if self._shape != (width, height):
            self.texture = Texture.create(size=(width, height), colorfmt="rgb")
            self.texture.flip_vertical()
            self._shape = (width, height)
        self.texture.blit_buffer(rgb.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
        self.canvas.ask_update()


def lines_text(lines: tuple[TextLine, ...]) -> str:
    return "\n".join(f"{line.who}：{line.text}" for line in lines[-LINES_SHOWN:])


class CitizenPane(BoxLayout):  # type: ignore[misc]
    def __init__(self, vm: TerminalViewModel, remote: Picture, local: Picture) -> None:
        super().__init__(orientation="vertical")
        paint(self, GROUND)
        self.vm, self.remote, self.local = vm, remote, local
        self.interpreter = VideoPicture(size_hint=(1, 1), pos_hint={"x": 0, "y": 0})
        self.myself = VideoPicture(size_hint=(0.28, 0.28), pos_hint={"right": 0.98, "y": 0.02})
        self.entry = TextInput(font_size=30, multiline=False, size_hint_x=0.75)
        self.entry.bind(on_text_validate=lambda *_: self._send())
        self.drawn: CitizenView | None = None

    def _send(self) -> None:
        if self.vm.type_text(self.entry.text):
            self.entry.text = ""

    def refresh(self, view: CitizenView) -> None:
        if view == self.drawn:
            return
        self.drawn = view
        for widget in (self.interpreter, self.myself, self.entry):
            if widget.parent is not None:
                widget.parent.remove_widget(widget)
        self.clear_widgets()
        bar = text(view.headline, 44, color=(1, 1, 1, 1), bold=True, size_hint_y=0.14)
        paint(bar, BAR)
        self.add_widget(bar)
        if view.phase in ("connecting", "in_call"):
            self.add_widget(self._call(view))
        else:
            self.add_widget(self._page(view))

    def _page(self, view: CitizenView) -> BoxLayout:
        body = BoxLayout(orientation="vertical", padding=(80, 40), spacing=30)
        body.add_widget(text(view.detail, 38, color=MUTED, size_hint_y=0.3))
        if view.call_button:
            body.add_widget(button(view.call_button, CALL, self.vm.press_call, 72,
                                   size_hint=(1, 0.5)))  # fmt: skip
        if view.consent_buttons:
            row = BoxLayout(spacing=40, size_hint_y=0.35)
            yes, no = view.consent_buttons
            row.add_widget(button(yes, CALL, lambda: self.vm.answer_consent(True), 48))
            row.add_widget(button(no, MUTED, lambda: self.vm.answer_consent(False), 48))
            body.add_widget(row)
        if view.lines:
            body.add_widget(text(lines_text(view.lines), 28, size_hint_y=0.3))
        if view.cancel_button:
            body.add_widget(button(view.cancel_button, QUIET, self.vm.press_cancel, 36,
                                   size_hint=(0.4, 0.18), pos_hint={"center_x": 0.5}))  # fmt: skip
        return body

    def _call(self, view: CitizenView) -> BoxLayout:
        body = BoxLayout(spacing=16, padding=16)
        stage = FloatLayout(size_hint_x=0.68)
        stage.add_widget(self.interpreter)
        stage.add_widget(self.myself)
        if not view.show_video:
            stage.add_widget(text(view.detail, 40, color=(1, 1, 1, 1)))
        if view.recording:
            mark = text(view.recording, 26, color=(1, 1, 1, 1), bold=True,
                        size_hint=(0.2, 0.08), pos_hint={"x": 0.02, "top": 0.98})  # fmt: skip
            paint(mark, RECORDING, radius=8)
            stage.add_widget(mark)
        body.add_widget(stage)
        side = BoxLayout(orientation="vertical", spacing=12, size_hint_x=0.32)
        side.add_widget(text(view.detail if view.show_video else "", 30, color=MUTED,
                             size_hint_y=0.08))  # fmt: skip
        box = text(lines_text(view.lines) or "文字消息会显示在这里", 28,
                   color=TEXT if view.lines else MUTED, size_hint_y=0.6)  # fmt: skip
        box.halign, box.valign = "left", "top"
        paint(box, hex_color("#FFFFFF"))
        side.add_widget(box)
        if view.can_type:
            row = BoxLayout(spacing=8, size_hint_y=0.1)
            row.add_widget(self.entry)
            row.add_widget(button("发送", CALL, self._send, 28))
            side.add_widget(row)
        if view.end_button:
            side.add_widget(button(view.end_button, END, self.vm.press_end, 44, size_hint_y=0.22))
        body.add_widget(side)
        return body

    def tick(self) -> None:
        """Newest pictures onto the screen (about 25 times a second)."""
        if self.drawn is not None and self.drawn.show_video:
            self.interpreter.show(self.remote())
            self.myself.show(self.local())


class ClerkPane(BoxLayout):  # type: ignore[misc]
    def __init__(self, vm: TerminalViewModel) -> None:
        super().__init__(orientation="vertical", padding=(40, 24), spacing=16)
        paint(self, hex_color("#0A1A33"))
        self.vm = vm
        self.drawn: ClerkView | None = None

    def refresh(self, view: ClerkView) -> None:
        if view == self.drawn:
            return
        self.drawn = view
        self.clear_widgets()
        white, muted = (1, 1, 1, 1), hex_color("#9FB3D1")
        self.add_widget(text("手语翻译 · 窗口端", 34, color=muted, size_hint_y=0.1))
        self.add_widget(text(view.status, 52, color=white, bold=True, size_hint_y=0.16))
        who = f"翻译员：{view.interpreter}" if view.interpreter else ""
        if view.duration:
            who += f"    通话时长 {view.duration}"
        self.add_widget(text(who, 34, color=muted, size_hint_y=0.1))
        said = lines_text(view.lines) or "翻译员输入的文字会显示在这里"
        box = text(said, 44, color=white if view.lines else muted, size_hint_y=0.64)
        box.halign, box.valign = "left", "top"
        self.add_widget(box)
