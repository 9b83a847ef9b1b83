"""The real Kivy boards, headless (SDL offscreen), one subprocess per
orientation (`display.ui.shots`): the hall board right after five windows
called within one second and 8.5 s later, an area board and window displays.
Screenshots go to test-artifacts/display-*.png (look at them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
BURST = ["A032", "B007", "C013", "F009", "A033"]

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").is_file(),
    reason="needs fonts-wqy-microhei",
)


def draw_boards(tmp_path: Path, orientation: str) -> dict[str, dict[str, Any]]:
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
        [sys.executable, "-m", "display.ui.shots", str(tmp_path / "shots"), str(result),
         orientation],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.is_file(), f"shots died ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    assert "failure" not in data, data["failure"]
    ARTIFACTS.mkdir(exist_ok=True)
    shots = {}
    for shot in data["shots"]:
        path = Path(shot["path"])
        assert path.stat().st_size > 20_000, f"{path.name} looks blank"
        shutil.copy(path, ARTIFACTS / path.name)
        shots[shot["name"]] = shot
    return shots


@pytest.mark.timeout(180)
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_boards_draw_five_calls_in_one_second_an_area_and_a_window(
    tmp_path: Path, orientation: str
) -> None:
    shots = draw_boards(tmp_path, orientation)

    burst = shots["hall-five-calls"]
    assert burst["featured"] == "请 A032 号 到 1号窗口 办理"  # the first of the burst
    assert sorted(burst["highlighted"]) == sorted(BURST)  # every one lit at once
    assert burst["calls"][:5] == BURST[::-1]  # newest first
    assert "安心政务服务大厅" in burst["texts"]
    assert "约 18 分钟" in burst["texts"]

    later = shots["hall-five-calls-later"]
    assert later["featured"] == "请 C013 号 到 6号窗口 办理"  # the third's turn
    assert sorted(later["highlighted"]) == ["A033", "C013", "F009"]  # still waiting theirs

    area = shots["area"]
    assert area["title"] == "不动产登记区"
    assert all(t.startswith("F") for t in area["calls"])
    assert area["featured"] == "请 F009 号 到 11号窗口 办理"
    assert "综合受理" not in area["texts"]

    window = shots["window"]
    assert window["window"] == "A029"
    assert "正在办理" in window["texts"]
    called = shots["window-called"]
    assert called["window"] == "A032"
    assert called["highlighted"] == ["A032"]
