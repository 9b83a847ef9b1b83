"""`anxin device signlang --sim --ui` in a process of its own against a real
Mosquitto and a real hub (HTTP, WebSocket signalling, MQTT): both screens
(SDL offscreen) come online, a press on 呼叫手语翻译 queues the citizen, an
interpreter (the aiortc stand-in, its peer in a network namespace) answers,
the call's video and text show, 结束通话 ends it, SIGTERM closes the window.

The test reads and presses the screens through the terminal's ``--sim``
control socket (``ui``, ``tap``, ``screenshot``), which releases the
on-screen buttons as a finger would. Screenshots: test-artifacts/signlang-device-*.png.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.kinds.kiosk_control import call_control
from tests.conftest import RunningBroker
from tests.interpreting.conftest import served_hub
from tests.kiosk.support import REPO, kiosk_env, wait_for
from tests.signlang.netns import NamespaceLoop
from tests.signlang.test_call_through_hub import interpreter

ARTIFACTS = REPO / "test-artifacts"
DEVICE = "signlang-ui-01"

pytestmark = [
    pytest.mark.timeout(150),
    pytest.mark.skipif(
        not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").is_file(),
        reason="needs fonts-wqy-microhei",
    ),
]


async def test_device_screens_come_online_and_carry_a_call(
    mosquitto: RunningBroker, tmp_path: Path, inside: NamespaceLoop
) -> None:
    data_dir = tmp_path / "device-data"
    device_dir = data_dir / "devices" / DEVICE
    ARTIFACTS.mkdir(exist_ok=True)

    async def control(**request: Any) -> Any:
        try:
            return await call_control(device_dir, request, timeout_s=5)
        except (OSError, ValueError):
            return {"ok": False, "reason": "no control socket yet"}

    async def shows(text: str, pane: str = "citizen") -> Any:
        ui = await control(op="ui")
        return ui if ui.get("ok") and any(text in t for t in ui[pane]) else None

    async def shot(name: str, pane: str = "both") -> Path:
        path = ARTIFACTS / f"signlang-device-{name}.png"
        path.unlink(missing_ok=True)
        assert (await control(op="screenshot", path=str(path), pane=pane))["ok"]
        assert path.stat().st_size > 10_000
        return path

    async with served_hub(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path, mosquitto) as hub:
        env = kiosk_env(mosquitto, data_dir) | {
            "ANXIN_SIGNLANG__HUB_URL": hub.url,
            "SDL_VIDEODRIVER": os.environ.get("SDL_VIDEODRIVER", "offscreen"),
            "KIVY_HOME": str(tmp_path / "kivy-home"),
            "KIVY_NO_ARGS": "1",
            "KIVY_NO_CONSOLELOG": "1",
            "KIVY_NO_FILELOG": "1",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "anxin", "device", "signlang", "--id", DEVICE, "--sim", "--ui",
            cwd=REPO, env=env,
        )  # fmt: skip
        try:
            # Online: the token came in the retained config (MQTT), the
            # signalling socket to the hub is up, the call button is drawn.
            ui = await wait_for(lambda: shows("呼叫手语翻译"), within=60, what="the call button")
            assert ui["phase"] == "idle"
            assert ui["clerk"], ui
            await shot("idle")

            # No interpreter signed in: the citizen is told where they stand.
            assert (await control(op="tap", text="呼叫手语翻译"))["ok"]
            ui = await wait_for(lambda: shows("您是下一位"), within=10, what="the queue position")
            assert ui["phase"] == "queued"
            assert "取消呼叫" in ui["citizen"]
            await shot("queued", "citizen")

            # An interpreter answers: video on the citizen screen, text on both.
            async with interpreter(hub, inside) as lina:

                async def in_call() -> Any:
                    ui = await control(op="ui")
                    return ui if ui.get("ok") and ui["phase"] == "in_call" and ui["video"] else None

                ui = await wait_for(in_call, within=15, what="the call with video on screen")
                assert any("李娜" in t for t in ui["citizen"]), ui
                await wait_for(lambda: lina.send_text("您好，我是翻译员李娜"), within=5,
                               what="the text channel")  # fmt: skip
                await wait_for(lambda: shows("您好，我是翻译员李娜", "clerk"), within=5,
                               what="the interpreter's text on the clerk screen")  # fmt: skip
                await asyncio.sleep(1.0)  # a few pictures in both video boxes
                await shot("call")
                peer = lina.peer
                assert peer is not None
                assert peer.video_in is not None
                assert peer.video_in.frames > 10  # the citizen's camera reached the interpreter

                assert (await control(op="tap", text="结束通话"))["ok"]
                await wait_for(lambda: shows("您已结束通话"), within=5, what="the ended page")
                await wait_for(lambda: lina.peer is None, within=5, what="the interpreter told")

            # SIGTERM closes the window and stops the agent cleanly.
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 20) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
