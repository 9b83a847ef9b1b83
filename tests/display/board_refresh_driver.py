"""Changes a real Kivy hall board many times in this process (run by
test_board_refresh.py in a subprocess, SDL offscreen) and writes what a
viewer would see after each change, which widgets existed and how long each
refresh took.

    python tests/display/board_refresh_driver.py RESULT_JSON landscape|portrait CHANGES
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from broker.contract import HallCalls  # noqa: E402
from display.board import BoardSettings, BoardViewModel  # noqa: E402
from display.ui import demo  # noqa: E402
from uikit.kivy_setup import SIZES, configure_kivy, register_cjk_font  # noqa: E402


def main() -> None:
    result_path, orientation, changes = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    configure_kivy(orientation=orientation, size=SIZES[orientation])
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.uix.label import Label
    from kivy.uix.widget import Widget

    from display.ui.screen import BoardScreen, software_rendered

    register_cjk_font()
    created = [0]
    init = Widget.__init__

    def counting_init(self: Widget, **kwargs: Any) -> None:
        created[0] += 1
        init(self, **kwargs)

    Widget.__init__ = counting_init  # every Label, BoxLayout, ... passes here
    rendered = [0]
    render = Label.texture_update

    def texture_update(self: Label, *args: Any) -> None:  # Kivy calls it by this name
        rendered[0] += 1
        render(self, *args)

    Label.texture_update = texture_update  # each label text rendered into a texture
    now = [0.0]
    vm = BoardViewModel(
        BoardSettings.model_validate({"notices": demo.NOTICES, "calls_shown": 6}),
        hall_name=demo.HALL_NAME,
        monotonic=lambda: now[0],
        wall=lambda: demo.MORNING,
    )
    for payload in demo.retained_state():
        vm.apply_payload(payload, retained=True)
    screen = BoardScreen(vm, orientation=orientation)
    Window.add_widget(screen)
    screen.size = Window.size
    EventLoop.ensure_window()

    def frame() -> None:
        EventLoop.idle()

    def seen() -> dict[str, Any]:
        """The call rows as read top to bottom: ticket labels are the 96 px ones."""
        frame()
        big = screen.u(96)
        labels = [w for w in screen.walk() if isinstance(w, Label)]
        tickets = sorted((w for w in labels if w.font_size == big and w.text),
                         key=lambda w: -w.to_window(*w.pos)[1])  # fmt: skip
        return {
            "tickets": [w.text for w in tickets],
            "texts": [w.text for w in labels if w.text],
            "created": created[0],
        }

    frame()
    first = seen()
    calls = list(demo.EARLIER)
    after: list[dict[str, Any]] = []
    refresh_ms: list[float] = []
    for i in range(changes):
        call = demo.board_call(f"{'ABCDF'[i % 5]}{100 + i:03d}", 1 + i % 20,
                               demo.MORNING + dt.timedelta(seconds=i))  # fmt: skip
        calls = [call, *calls][:12]
        vm.apply_payload(HallCalls(calls=tuple(calls)))
        now[0] += 0.7
        t0 = time.perf_counter()
        screen.refresh()
        refresh_ms.append((time.perf_counter() - t0) * 1000)
        state = seen()
        after.append({"newest": call.ticket, **state})
    # Every highlight runs out: the lit rows go back to their usual colours.
    lit_before = sum(1 for line in screen._calls if line.row and line.row.highlighted)
    frame()
    rendered_before = rendered[0]
    now[0] += 120
    screen.refresh()
    frame()
    expiry = {
        "lit_before": lit_before,
        "lit_after": sum(1 for line in screen._calls if line.row and line.row.highlighted),
        "textures_rendered": rendered[0] - rendered_before,
        "ticket_tints": [list(line.ticket.tint) for line in screen._calls if line.row],
    }
    builds_before_layout_change = screen.builds
    vm.configure(BoardSettings.model_validate({"notices": demo.NOTICES, "calls_shown": 3}))
    screen.refresh()
    three = seen()
    # The notice ticker: how often it steps here, and how far its text moves.
    ticker = screen.ticker
    ticker._scroll(0.0)
    x0 = ticker._label.x
    ticker._scroll(0.5)
    ticker_seen = {
        "software_gl": software_rendered(),
        "steps_per_s": ticker.steps_per_s,
        "moved_px_in_half_s": x0 - ticker._label.x,
        "text_wider_than_bar": ticker._label.width > ticker.width,
    }
    result = {
        "ticker": ticker_seen,
        "first": first,
        "after": after,
        "refresh_ms": refresh_ms,
        "renders": screen.renders,
        "builds": builds_before_layout_change,
        "expiry": expiry,
        "three_rows": {**three, "builds": screen.builds},
    }
    result_path.write_text(json.dumps(result, ensure_ascii=False), "utf-8")


if __name__ == "__main__":
    main()
