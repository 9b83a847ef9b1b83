"""A board that changes updates its widgets in place (headless Kivy in a
subprocess, `board_refresh_driver.py`): a call shows up in the list at once,
and no change of calls builds the board again — the rebuilds that held the
board to two frames a second under load (docs/benchmarks.md, press-to-board)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from uikit.paint import hex_color

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("board_refresh_driver.py")
CHANGES = 40

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").is_file(),
    reason="needs fonts-wqy-microhei",
)


def drive(tmp_path: Path, orientation: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": os.environ.get("SDL_VIDEODRIVER", "offscreen"),
        "KIVY_HOME": str(tmp_path / "kivy-home"),
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
    }
    result = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(result), orientation, str(CHANGES)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    assert result.is_file(), f"driver died ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    return data


@pytest.mark.timeout(180)
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_each_new_call_shows_at_the_top_without_building_the_board_again(
    tmp_path: Path, orientation: str
) -> None:
    data = drive(tmp_path, orientation)
    rows = 6  # calls_shown 6 fits both orientations
    assert data["first"]["tickets"] == ["A031", "F008", "C012", "B006", "A030", "F007"][:rows]

    previous = data["first"]["tickets"]
    for step in data["after"]:
        # What a viewer reads: the new call on top, the others moved down one.
        assert step["tickets"] == [step["newest"], *previous][:rows]
        assert step["newest"] in step["texts"]
        previous = step["tickets"]
        # The same widgets throughout: texts and colours changed, nothing was built.
        assert step["created"] == data["first"]["created"]
    assert data["renders"] >= CHANGES
    assert data["builds"] == 1

    # The highlights run out: the lit rows turn back to amber numbers on the
    # panel by recolouring, without rendering their large texts again (the
    # banner's idle line is the only new text).
    expiry = data["expiry"]
    assert expiry["lit_before"] >= 1
    assert expiry["lit_after"] == 0
    assert expiry["textures_rendered"] <= 1
    amber = [round(c, 3) for c in hex_color("#FFD54A")]
    assert all([round(c, 3) for c in tint] == amber for tint in expiry["ticket_tints"])

    # Fewer rows is another layout: built once more, with three rows.
    three = data["three_rows"]
    assert three["builds"] == 2
    assert three["tickets"] == previous[:3]
    assert three["created"] > data["first"]["created"]

    # No GPU here (Mesa's llvmpipe): the ticker steps 8 times a second, not
    # 30, so that ticker frames do not keep a new call waiting; its text
    # still moves at 120 px/s.
    ticker = data["ticker"]
    assert ticker["software_gl"]
    assert ticker["steps_per_s"] == 8
    assert ticker["text_wider_than_bar"]
    assert ticker["moved_px_in_half_s"] == pytest.approx(60.0)
