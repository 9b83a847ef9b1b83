"""Screenshots of the terminal's screens, headless (SDL offscreen):

    python -m signlang_terminal.ui.shots OUT_DIR RESULT_JSON

Draws the citizen screen idle, asking for recording consent, queued, and in a
call (the interpreter's picture large, the citizen small, text lines, the
录像中 mark of a recorded call), and
the clerk screen in the call. Writes ``signlang-*.png`` to OUT_DIR and
RESULT_JSON with what each drew.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from signlang_terminal.viewmodel import TerminalViewModel
from uikit.kivy_setup import configure_kivy
from uikit.shots import run_shot_script

PANE = (1280, 720)


async def script(out_dir: Path, result: dict[str, Any]) -> None:
    import cv2
    from kivy.core.window import Window

    from signlang_terminal.media.synthetic import draw_pattern, wall_ms
    from signlang_terminal.ui.screen import CitizenPane, ClerkPane

    clock = [1000.0]
    vm = TerminalViewModel(clock=lambda: clock[0])
    vm.send_text = lambda _text: True
    vm.online(True)
    interpreter = cv2.cvtColor(draw_pattern(4321, wall_ms()), cv2.COLOR_BGR2RGB)
    citizen = cv2.cvtColor(draw_pattern(77, wall_ms(), 320, 240), cv2.COLOR_BGR2RGB)

    async def shot(name: str, pane: Any, view: Any) -> None:
        for child in list(Window.children):
            Window.remove_widget(child)
        Window.add_widget(pane)
        pane.size = Window.size
        pane.refresh(view)
        for _ in range(3):
            if hasattr(pane, "tick"):
                pane.tick()
            await asyncio.sleep(0.2)
        path = out_dir / f"signlang-{name}.png"
        pane.export_to_png(str(path))
        result["shots"].append({"name": name, "path": str(path), "phase": str(view.phase),
                                "texts": _texts(pane)})  # fmt: skip

    def citizen_pane() -> Any:
        return CitizenPane(vm, lambda: interpreter, lambda: citizen)

    await shot("citizen-idle", citizen_pane(), vm.citizen())
    vm.ask_consent = True
    vm.press_call()
    await shot("citizen-consent", citizen_pane(), vm.citizen())
    vm.answer_consent(False)
    vm.queued(3, 260)
    await shot("citizen-queued", citizen_pane(), vm.citizen())
    vm.connecting("李娜")
    vm.media_up()
    vm.recording_shown(True)  # the citizen agreed: the 录像中 mark
    clock[0] += 83
    vm.text_received("您好，我是翻译员李娜，请问您要办理什么业务？")
    vm.type_text("我想办理居住证")
    vm.text_received("好的，请把身份证交给窗口工作人员")
    await shot("citizen-call", citizen_pane(), vm.citizen())
    await shot("clerk-call", ClerkPane(vm), vm.clerk())


def _texts(widget: Any) -> list[str]:
    found = [str(widget.text)] if getattr(widget, "text", "") else []
    for child in widget.children:
        found.extend(_texts(child))
    return found


def main() -> None:
    out_dir, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_kivy(size=PANE)
    result: dict[str, Any] = {"shots": []}
    run_shot_script(lambda _app: script(out_dir, result), result, result_path, settle_s=0.5)


if __name__ == "__main__":
    main()
