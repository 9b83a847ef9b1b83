"""The real Kivy kiosk, headless: the 预约签到 screens, in
test-artifacts/kiosk-checkin-*.png."""

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
DRIVER = Path(__file__).with_name("checkin_driver.py")

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").is_file(),
    reason="needs fonts-wqy-microhei",
)


@pytest.mark.timeout(200)
def test_check_in_screens_render_in_chinese_and_end_on_an_appointment_ticket(
    tmp_path: Path,
) -> None:
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
        [sys.executable, str(DRIVER), str(tmp_path / "shots"), str(result)],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.is_file(), f"driver died ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    assert "failure" not in data, data.get("failure")
    ARTIFACTS.mkdir(exist_ok=True)
    for shot in data["shots"]:
        shutil.copy(shot["path"], ARTIFACTS / Path(shot["path"]).name)
    screens = {s["name"]: s["screen"] for s in data["shots"]}
    assert screens == {
        "home": "home", "scan": "checkin", "unreadable": "checkin", "ticket": "ticket",
    }  # fmt: skip
    assert "预约" in data["texts"]
    assert any(t.startswith("A") and len(t) == 4 for t in data["texts"]), data["texts"]
