"""Screenshots of the boards, headless (SDL offscreen), for the tests and docs:

    python -m display.ui.shots OUT_DIR RESULT_JSON landscape|portrait

Draws, from the demo hall (`display.ui.demo`): the hall board just after
five windows called within one second and again 8.5 s later, an area board
and a window display. Writes ``display-*-{orientation}.png`` to OUT_DIR and
RESULT_JSON with what each screen drew (`BoardHandle.snapshot`).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from display.board import BoardSettings, BoardViewModel
from display.ui import demo
from uikit.kivy_setup import SIZES, configure_kivy
from uikit.shots import run_shot_script


class StepClock:
    """The boards' monotonic clock, moved by the script (no waiting for highlights)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make_board(clock: StepClock, **settings: Any) -> BoardViewModel:
    vm = BoardViewModel(
        BoardSettings.model_validate({"notices": demo.NOTICES, **settings}),
        hall_name=demo.HALL_NAME,
        monotonic=clock,
        wall=lambda: demo.MORNING,
    )
    for payload in demo.retained_state():
        vm.apply_payload(payload, retained=True)
    return vm


async def script(app: Any, out_dir: Path, orientation: str, result: dict[str, Any]) -> None:
    from kivy.core.window import Window

    from display.ui.app import BoardHandle
    from display.ui.screen import BoardScreen

    clock = StepClock()
    await asyncio.sleep(0.5)

    async def shot(name: str, vm: BoardViewModel) -> None:
        for child in list(Window.children):
            Window.remove_widget(child)
        screen = BoardScreen(vm, orientation=orientation)
        Window.add_widget(screen)
        screen.size = Window.size
        await asyncio.sleep(0.6)  # layout, textures, the ticker's first steps
        path = out_dir / f"display-{name}-{orientation}.png"
        handle = BoardHandle(vm, screen, 0.0)
        handle.screenshot(str(path))
        result["shots"].append({"name": name, "path": str(path), **handle.snapshot()})
        screen.ticker.stop()

    hall = make_board(clock, highlight_s=4)
    for i in range(1, 6):  # five windows within one second, one message each
        hall.apply_payload(demo.calls(*demo.BURST[:i]))
        clock.t += 0.2
    await shot("hall-five-calls", hall)
    clock.t += 8.5
    await shot("hall-five-calls-later", hall)

    area = make_board(clock, board="area", area="budongchan", title="不动产登记区",
                      services=["realestate", "tax"])  # fmt: skip
    area.apply_payload(demo.calls(*demo.BURST))
    await shot("area", area)

    window = make_board(clock, board="window", window=5)
    await shot("window", window)

    # Window 1 has just called A032: its display lights up.
    window = make_board(clock, board="window", window=1)
    window.apply_payload(demo.calls(*demo.BURST))
    window.apply_payload(demo.window_called(1, "A032"))
    await shot("window-called", window)


def main() -> None:
    out_dir, result_path, orientation = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_kivy(orientation=orientation, size=SIZES[orientation])
    result: dict[str, Any] = {"orientation": orientation, "shots": []}
    run_shot_script(lambda app: script(app, out_dir, orientation, result), result, result_path)


if __name__ == "__main__":
    main()
