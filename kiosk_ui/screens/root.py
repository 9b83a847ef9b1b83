"""The kiosk's root widget: a header and the current screen, drawn from
`KioskViewModel.view()` whenever the view-model says something changed.

Every screen is rebuilt from its view (the view-model is the only state), on
the next frame after a change, so many changes in one frame draw once. When
only the clock or a countdown moved, only those two labels are updated.
"""

from __future__ import annotations

import logging
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk_ui.screens.widgets import (
    BACKGROUND,
    ERROR,
    HEADER,
    MUTED,
    OK,
    WARN,
    WHITE,
    KioskButton,
    Metrics,
    Text,
    column,
    grid,
    qr_image,
    scroller,
)
from kiosk_ui.viewmodels.kiosk import KioskViewModel
from kiosk_ui.viewmodels.qr import qr_matrix
from kiosk_ui.viewmodels.views import (
    Action,
    AttractView,
    BusyView,
    ChecklistScreen,
    ClosedView,
    Header,
    HomeView,
    KeypadView,
    ListView,
    MessageView,
    QuestionView,
    ScanView,
    SearchView,
    TicketView,
    View,
)
from uikit.paint import paint

log = logging.getLogger(__name__)

HELP_LINE = "如需帮助，请找身穿工作服的导服人员"


class KioskRoot(BoxLayout):  # type: ignore[misc]
    def __init__(self, vm: KioskViewModel, orientation_setting: str = "auto") -> None:
        super().__init__(orientation="vertical")
        self.vm = vm
        self.orientation_setting = orientation_setting
        paint(self, BACKGROUND)
        self._clock_label: Text | None = None
        self._countdown_label: Text | None = None
        self._drawn: tuple[int, str, bool, tuple[int, int]] | None = None
        self.renders = 0
        self._trigger = Clock.create_trigger(self._render, 0)
        vm.subscribe(self._on_change)
        Window.bind(size=lambda *_: self._trigger())
        self._render()

    # --- updates -------------------------------------------------------------------------------

    def _on_change(self, full: bool) -> None:
        if full:
            self._trigger()
        else:
            self._light_update()

    def _light_update(self) -> None:
        try:
            view = self.vm.view()
            if self._clock_label is not None:
                self._clock_label.text = view.header.clock
            if self._countdown_label is not None and isinstance(view, TicketView):
                self._countdown_label.text = view.countdown
        except Exception:
            log.exception("kiosk light update failed")

    def metrics(self) -> Metrics:
        w, h = Window.size
        landscape = (
            w > h if self.orientation_setting == "auto" else self.orientation_setting == "landscape"
        )
        return Metrics(scale=min(w, h) / 1080, landscape=landscape, elderly=self.vm.s.elderly)

    def _render(self, *_: Any) -> None:
        try:
            view = self.vm.view()
            self._draw(view)
        except Exception:
            if self.vm.strict:
                raise
            log.exception("kiosk render failed; going home")
            self.vm.go_home()
            try:
                self._draw(self.vm.view())
            except Exception:
                log.exception("kiosk home render failed")

    def _draw(self, view: View) -> None:
        self.renders += 1
        m = self.metrics()
        self.clear_widgets()
        self._clock_label = None
        self._countdown_label = None
        self.add_widget(self._header(view.header, m))
        body = BoxLayout(orientation="vertical", padding=m.fixed(28), spacing=m.fixed(20))
        drawer = getattr(self, f"_draw_{type(view).__name__}")
        drawer(view, body, m)
        self.add_widget(body)

    # --- pieces --------------------------------------------------------------------------------

    def _header(self, header: Header, m: Metrics) -> BoxLayout:
        bar = BoxLayout(
            size_hint_y=None,
            height=m.fixed(120),
            padding=(m.fixed(24), m.fixed(14)),
            spacing=m.fixed(16),
        )
        paint(bar, HEADER)
        name = Text(header.hall_name, m.fixed(38), color=WHITE, bold=True)
        name.size_hint_x = 1.6
        bar.add_widget(name)
        clock = Text(header.clock, m.fixed(30), color=WHITE, halign="center")
        self._clock_label = clock
        bar.add_widget(clock)
        state = Text(
            "联网" if header.online else "离线取号",
            m.fixed(30),
            color=hex_on(header.online),
            halign="center",
        )
        state.size_hint_x = None
        state.width = m.fixed(150)
        bar.add_widget(state)
        for action in (header.home, header.elderly_toggle):
            if action is not None:
                button = KioskButton(action, Metrics(m.scale, m.landscape, False), font=32)
                button.size_hint_x = None
                button.width = m.fixed(240)
                bar.add_widget(button)
        for child in bar.children:
            if isinstance(child, Text):
                child.size_hint_y = 1
        return bar

    def _tiles(self, actions: tuple[Action, ...], m: Metrics, cols: int, height: float) -> Any:
        g = grid(cols, m.fixed(18), m.px(height))
        for action in actions:
            g.add_widget(KioskButton(action, m))
        return g

    def _bottom(self, m: Metrics, *actions: Action | None) -> BoxLayout:
        row = BoxLayout(size_hint_y=None, height=m.px(120), spacing=m.fixed(18))
        for action in actions:
            if action is not None:
                row.add_widget(KioskButton(action, m, font=42))
        return row

    # --- screens -------------------------------------------------------------------------------

    def _draw_AttractView(self, view: AttractView, body: BoxLayout, m: Metrics) -> None:
        box = BoxLayout(orientation="vertical", spacing=m.fixed(30), padding=m.fixed(40))
        box.add_widget(Widget())
        box.add_widget(Text(view.title, m.px(72), halign="center", bold=True))
        for line in view.lines:
            box.add_widget(Text(line, m.px(42), color=MUTED, halign="center"))
        box.add_widget(Widget())
        box.add_widget(KioskButton(view.start, m, font=64, height=m.px(220)))
        box.add_widget(Widget(size_hint_y=0.3))
        body.add_widget(box)

    def _draw_ClosedView(self, view: ClosedView, body: BoxLayout, m: Metrics) -> None:
        box = BoxLayout(orientation="vertical", spacing=m.fixed(30), padding=m.fixed(40))
        box.add_widget(Widget())
        box.add_widget(Text(view.title, m.px(76), halign="center", bold=True, color=WARN))
        box.add_widget(Text(view.body, m.px(46), halign="center"))
        for line in view.hours:
            box.add_widget(Text(line, m.px(40), color=MUTED, halign="center"))
        box.add_widget(Widget())
        if view.guide is not None:
            box.add_widget(KioskButton(view.guide, m, font=44, height=m.px(140)))
        body.add_widget(box)

    def _draw_HomeView(self, view: HomeView, body: BoxLayout, m: Metrics) -> None:
        content = column(m.fixed(20))
        content.add_widget(Text(view.greeting, m.px(50), bold=True))
        if view.notice:
            content.add_widget(Text(view.notice, m.px(38), color=WARN))
        entries = tuple(
            a for a in (view.search, view.guide, view.green, view.checkin) if a is not None
        )
        if view.frequent and not view.areas:  # 长者模式: a few huge tiles
            content.add_widget(self._tiles(view.frequent, m, 2 if m.landscape else 1, 170))
            if view.helper is not None:
                content.add_widget(self._tiles((view.helper,), m, 1, 170))
            content.add_widget(self._tiles(entries, m, 1, 150))
            body.add_widget(scroller(content))
            return
        tall = not m.landscape
        content.add_widget(self._tiles(entries, m, 2 if tall else 4, 170 if tall else 120))
        if view.frequent:
            content.add_widget(Text("常办事项", m.px(40), color=MUTED, bold=True))
            cols = 2 if tall else 3
            content.add_widget(self._tiles(view.frequent, m, cols, 170 if tall else 110))
        if view.areas:
            content.add_widget(Text("按服务区域取号", m.px(40), color=MUTED, bold=True))
            content.add_widget(self._tiles(view.areas, m, 4, 160 if tall else 100))
        if tall:
            content.add_widget(Text(" ", m.px(20)))
            content.add_widget(Text(HELP_LINE, m.px(34), color=MUTED, halign="center"))
        body.add_widget(scroller(content))

    def _draw_ListView(self, view: ListView, body: BoxLayout, m: Metrics) -> None:
        body.add_widget(Text(view.title, m.px(54), bold=True))
        if view.hint:
            body.add_widget(Text(view.hint, m.px(36), color=MUTED))
        cols = (3 if m.landscape else 2) if not m.elderly else (2 if m.landscape else 1)
        body.add_widget(scroller(self._tiles(view.items, m, cols, 160)))
        body.add_widget(self._bottom(m, view.back))

    def _draw_SearchView(self, view: SearchView, body: BoxLayout, m: Metrics) -> None:
        if m.landscape:  # results on the left, the keyboard on the right
            split = BoxLayout(spacing=m.fixed(24))
            left = BoxLayout(orientation="vertical", spacing=m.fixed(16))
            right = BoxLayout(orientation="vertical", spacing=m.fixed(16))
            split.add_widget(left)
            split.add_widget(right)
            body.add_widget(split)
            self._search_parts(view, left, right, m)
            return
        self._search_parts(view, body, body, m)

    def _search_parts(
        self, view: SearchView, body: BoxLayout, keys_box: BoxLayout, m: Metrics
    ) -> None:
        query = Text(view.query or " ", m.fixed(56), bold=True)
        paint(query, WHITE, m.fixed(12))
        query.padding = (m.fixed(20), 0)
        body.add_widget(query)
        body.add_widget(Text(view.status, m.fixed(34), color=MUTED))
        hot = grid(len(view.hotwords), m.fixed(12), m.fixed(80))
        for action in view.hotwords:
            hot.add_widget(KioskButton(action, m, font=34))
        body.add_widget(hot)
        results = column(m.fixed(14))
        for action in view.results:
            results.add_widget(KioskButton(action, m, font=40, height=m.fixed(130)))
        body.add_widget(scroller(results))
        keyboard = column(m.fixed(10))
        key_h = m.fixed(110 if not m.landscape else 130)
        for row in view.keys:
            line = BoxLayout(size_hint_y=None, height=key_h, spacing=m.fixed(10))
            for action in row:
                line.add_widget(KioskButton(action, m, font=48))
            keyboard.add_widget(line)
        if m.landscape:
            hot.cols = 3
            keys_box.add_widget(Widget())
        keys_box.add_widget(keyboard)
        keys_box.add_widget(self._bottom(m, view.back))

    def _draw_QuestionView(self, view: QuestionView, body: BoxLayout, m: Metrics) -> None:
        content = column(m.fixed(20))
        content.add_widget(Text(f"{view.matter} · {view.progress}", m.px(36), color=MUTED))
        content.add_widget(Text(view.question, m.px(56), bold=True))
        if view.help:
            content.add_widget(Text(view.help, m.px(34), color=MUTED))
        for action in view.options:
            content.add_widget(KioskButton(action, m, font=46, height=m.px(150)))
        if view.answered:
            content.add_widget(Text("您的情况", m.px(34), color=MUTED, bold=True))
            for line in view.answered:
                content.add_widget(Text(f"· {line}", m.px(32), color=MUTED))
        body.add_widget(scroller(content))
        body.add_widget(self._bottom(m, view.back))

    def _draw_ChecklistScreen(self, view: ChecklistScreen, body: BoxLayout, m: Metrics) -> None:
        content = column(m.fixed(12))
        content.add_widget(Text(view.matter, m.px(54), bold=True))
        for line in view.summary:
            content.add_widget(Text(line, m.px(34)))
        content.add_widget(Text(f"需要携带的材料（{len(view.materials)} 项）", m.px(40), bold=True))
        for index, row in enumerate(view.materials, 1):
            content.add_widget(Text(f"{index}. {row.name}", m.px(38)))
            content.add_widget(Text(f"    {row.detail}", m.px(30), color=MUTED))
        if view.conditions:
            content.add_widget(Text("办理条件", m.px(38), bold=True))
            for line in view.conditions:
                content.add_widget(Text(f"· {line}", m.px(30), color=MUTED))
        body.add_widget(scroller(content))
        if view.message:
            body.add_widget(Text(view.message, m.px(34), color=WARN))
        body.add_widget(Text(view.service_note, m.px(34), color=MUTED))
        body.add_widget(self._bottom(m, view.back, view.print_list, view.take))

    def _draw_KeypadView(self, view: KeypadView, body: BoxLayout, m: Metrics) -> None:
        body.add_widget(Text(view.title, m.px(54), bold=True))
        body.add_widget(Text(view.hint, m.px(36), color=MUTED))
        display = Text(view.display or " ", m.fixed(60), bold=True, halign="center")
        paint(display, WHITE, m.fixed(12))
        body.add_widget(display)
        body.add_widget(Text(view.error or " ", m.px(36), color=ERROR, halign="center"))
        for action in view.alternatives:
            body.add_widget(KioskButton(action, m, font=44, height=m.px(130)))
        pad = column(m.fixed(14))
        for row in view.keys:
            line = BoxLayout(size_hint_y=None, height=m.fixed(140), spacing=m.fixed(14))
            for action in row:
                line.add_widget(KioskButton(action, m, font=56))
            pad.add_widget(line)
        holder = AnchorLayout(anchor_x="center", anchor_y="top")
        pad.size_hint_x = None
        pad.width = m.fixed(760)
        holder.add_widget(pad)
        body.add_widget(holder)
        body.add_widget(self._bottom(m, view.back, view.confirm if view.keys else None))

    def _draw_BusyView(self, view: BusyView, body: BoxLayout, m: Metrics) -> None:
        body.add_widget(Widget())
        body.add_widget(Text(view.text, m.px(60), halign="center", bold=True))
        body.add_widget(Widget())

    def _draw_TicketView(self, view: TicketView, body: BoxLayout, m: Metrics) -> None:
        content = column(m.fixed(16))
        if view.eticket:
            content.add_widget(
                Text("扫码领取电子号票", m.px(60), halign="center", bold=True, color=WARN)
            )
        else:
            content.add_widget(Text("您的号码", m.px(44), halign="center", color=MUTED))
        content.add_widget(Text(view.number, m.fixed(200), halign="center", bold=True))
        content.add_widget(Text(view.service, m.px(50), halign="center"))
        if view.priority:
            content.add_widget(Text(view.priority, m.px(42), halign="center", color=OK, bold=True))
        figures = "    ".join(t for t in (view.ahead, view.wait) if t)
        if figures:
            content.add_widget(Text(figures, m.px(42), halign="center"))
        if view.offline:
            content.add_widget(Text(view.offline, m.px(44), halign="center", color=WARN, bold=True))
        content.add_widget(
            Text(view.status, m.px(38), halign="center", color=WARN if view.eticket else MUTED)
        )
        qr_box = content
        split = BoxLayout(spacing=m.fixed(24))
        if view.eticket and m.landscape:  # the QR code beside the number
            split.add_widget(scroller(content))
            qr_box = column(m.fixed(16))
            split.add_widget(qr_box)
        if view.eticket:
            matrix = qr_matrix(view.qr_url)
            side = m.fixed(520 if not m.landscape else 600)
            holder = AnchorLayout(size_hint_y=None, height=side)
            if matrix is not None:
                holder.add_widget(qr_image(matrix, side))
            else:
                holder.add_widget(Text(view.qr_url, m.px(34), halign="center"))
            qr_box.add_widget(holder)
            scan = "手机扫码后可查看排队进度，叫号时请出示"
            qr_box.add_widget(Text(scan, m.px(32), halign="center", color=MUTED))
        countdown = Text(view.countdown, m.px(32), halign="center", color=MUTED)
        self._countdown_label = countdown
        qr_box.add_widget(countdown)
        body.add_widget(split if view.eticket and m.landscape else scroller(content))
        body.add_widget(self._bottom(m, view.done))

    def _draw_ScanView(self, view: ScanView, body: BoxLayout, m: Metrics) -> None:
        box = BoxLayout(orientation="vertical", spacing=m.fixed(26), padding=m.fixed(30))
        box.add_widget(Text(view.title, m.px(72), halign="center", bold=True))
        box.add_widget(Text(view.hint, m.px(54), halign="center", bold=True, color=HEADER))
        for line in view.steps:
            box.add_widget(Text(line, m.px(40), color=MUTED))
        if view.error:
            box.add_widget(Text(view.error, m.px(40), halign="center", color=ERROR, bold=True))
        box.add_widget(Widget())
        box.add_widget(Text("▼  扫码口在屏幕下方  ▼", m.px(48), halign="center", color=WARN))
        body.add_widget(box)
        body.add_widget(self._bottom(m, view.back))

    def _draw_MessageView(self, view: MessageView, body: BoxLayout, m: Metrics) -> None:
        color = {"warn": WARN, "error": ERROR}.get(view.tone, HEADER)
        body.add_widget(Widget())
        body.add_widget(Text(view.title, m.px(64), halign="center", bold=True, color=color))
        body.add_widget(Text(view.body, m.px(42), halign="center"))
        body.add_widget(Widget())
        body.add_widget(self._bottom(m, *view.buttons))


def hex_on(online: bool) -> tuple[float, float, float, float]:
    return (0.6, 0.95, 0.7, 1) if online else (1.0, 0.75, 0.4, 1)
