"""The real Kivy kiosk, headless (SDL offscreen on Mesa EGL), one subprocess
per orientation: synthetic touches through the window, screenshots of every
screen into test-artifacts/kiosk-*.png, random taps, and the start time.

The printer is `printer.service.TicketPrinter` on a file transport; the
paper-out case points it at a file it cannot open, so the real printer
reports the failure and the kiosk switches to the e-ticket."""

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
DRIVER = Path(__file__).with_name("kivy_driver.py")
FIRST_FRAME_LIMIT_S = 5.0

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").is_file(),
    reason="needs fonts-wqy-microhei",
)


def run_driver(tmp_path: Path, orientation: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": os.environ.get("SDL_VIDEODRIVER", "offscreen"),
        "KIVY_HOME": str(tmp_path / "kivy-home"),
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
    }
    result = tmp_path / "result.json"
    shots = tmp_path / "shots"
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(shots), str(result), orientation],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.is_file(), f"driver died ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    assert "failure" not in data, data.get("failure")
    ARTIFACTS.mkdir(exist_ok=True)
    for shot in data["shots"]:
        shutil.copy(shot["path"], ARTIFACTS / Path(shot["path"]).name)
    return data


@pytest.mark.timeout(300)
def test_portrait_screens_touches_and_start_time(tmp_path: Path) -> None:
    data = run_driver(tmp_path, "portrait")
    names = {s["name"]: s["screen"] for s in data["shots"]}
    assert names == {
        "home": "home",
        "search": "search",
        "question": "question",
        "checklist": "checklist",
        "ticket": "ticket",
        "eticket": "ticket",
        "offline": "ticket",
        "green": "green_reason",
        "idcard": "id_entry",
        "elderly": "home",
        "guide": "guide_areas",
        "closed": "closed",
    }
    assert data["first_frame_s"] < FIRST_FRAME_LIMIT_S
    assert data["search_results"][0].startswith("个体工商户")
    assert data["ticket_printed"] is True
    assert data["printer"] == "printer.service.TicketPrinter(file transport)"
    prints = tmp_path / "shots" / "prints-portrait" / "kiosk-tickets.bin"
    assert prints.stat().st_size > 0  # the real printer service wrote the ticket
    assert data["issued"][:3] == ["C001", "A001", "N001"]
    assert data["random_taps"] == 160
    assert data["errors"] == []


@pytest.mark.timeout(300)
def test_landscape_main_screens(tmp_path: Path) -> None:
    data = run_driver(tmp_path, "landscape")
    names = [s["name"] for s in data["shots"]]
    assert names == ["home", "search", "question", "checklist", "ticket", "eticket", "elderly"]
    assert data["first_frame_s"] < FIRST_FRAME_LIMIT_S
    assert data["errors"] == []
