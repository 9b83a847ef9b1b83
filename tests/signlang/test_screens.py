"""The real Kivy screens, headless (SDL offscreen) in a subprocess
(`signlang_terminal.ui.shots`). Screenshots go to test-artifacts/signlang-*.png
(look at them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_citizen_and_clerk_screens_show_each_phase(tmp_path: Path) -> None:
    result = tmp_path / "shots.json"
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": os.environ.get("SDL_VIDEODRIVER", "offscreen"),
        "KIVY_HOME": str(tmp_path / "kivy-home"),
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "signlang_terminal.ui.shots", str(tmp_path / "shots"), str(result)],
        env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert result.is_file(), f"shots died ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    data = json.loads(result.read_text("utf-8"))
    assert "failure" not in data, data["failure"]
    shots = {s["name"]: s for s in data["shots"]}
    ARTIFACTS.mkdir(exist_ok=True)
    for shot in shots.values():
        shutil.copy(shot["path"], ARTIFACTS / Path(shot["path"]).name)

    assert "呼叫手语翻译" in shots["citizen-idle"]["texts"]
    assert {"同意录像", "不同意"} <= set(shots["citizen-consent"]["texts"])
    assert "前面还有 2 位，预计等待约 5 分钟" in shots["citizen-queued"]["texts"]
    call = shots["citizen-call"]["texts"]
    assert "结束通话" in call
    assert "翻译员 李娜" in call
    assert any("请把身份证交给窗口工作人员" in t for t in call)
    assert "● 录像中" in call  # the citizen agreed to the recording: it says so
    clerk = shots["clerk-call"]["texts"]
    assert "通话中" in clerk
    assert any("我想办理居住证" in t for t in clerk)
