"""`anxin device kiosk --sim --ui` against a real broker and a real hub (HTTP and
MQTT): the Kivy kiosk (SDL offscreen) shows the hall's services, waits and
matter library as the hub announces them, a tap on a service tile takes a
ticket through the kiosk agent and the hub, and the printer port prints it.

The kiosk runs in its own process; the test drives and reads its UI through
the kiosk's local control socket (``ui``, ``tap``, ``screenshot``), which
releases the on-screen buttons as a finger would."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from anxin.ports import free_port
from central.db import make_engine, make_sessionmaker, upgrade_database
from central.matters.service import import_library
from central.queueing.models import Channel, Ticket
from edge.kinds.kiosk_control import call_control
from tests.central.conftest import hub_settings, serving_hub
from tests.conftest import RunningBroker
from tests.guidance.library import small_library
from tests.kiosk.support import REPO, kiosk_env, wait_for
from tests.queueing.hall import MORNING, Hall

ARTIFACTS = REPO / "test-artifacts"

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").is_file(),
        reason="needs fonts-wqy-microhei",
    ),
]


def prepare(url: str, tmp_path: Path) -> None:
    """The hall: two services in one area, a published library, two people waiting."""
    settings = hub_settings(database_url=url, tmp_path=tmp_path)
    upgrade_database(settings)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            assert import_library(s, small_library(), author="test", reason="test", publish=True).ok
            s.commit()
        hall = Hall(settings, engine, sessions)
        hall.service("individual_business", "C", "个体工商户登记")
        hall.service("id_card", "D", "居民身份证", closes_at=dt.time(16, 30))
        hall.window(1, {"individual_business": 1.0, "id_card": 1.0})
        hall.login(1, hall.clerk("li", ["individual_business", "id_card"]))
        for _ in range(2):
            hall.issue("individual_business", now=MORNING)
    finally:
        engine.dispose()


def hub_tickets(url: str) -> list[Ticket]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return list(s.scalars(select(Ticket).order_by(Ticket.id)))
    finally:
        engine.dispose()


async def test_the_device_kiosk_ui_shows_the_hall_and_a_tap_takes_and_prints_a_ticket(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    await asyncio.to_thread(prepare, url, tmp_path)
    settings = hub_settings(
        database_url=url, tmp_path=tmp_path, broker=mosquitto, port=free_port(),
        clock_start=MORNING,
    )  # fmt: skip
    settings = settings.model_copy(
        update={"kiosk": settings.kiosk.model_copy(update={"replenish_s": 0.5})}
    )
    data_dir = tmp_path / "kiosk-data"
    device_dir = data_dir / "devices" / "kiosk-01"
    env = kiosk_env(mosquitto, data_dir) | {
        "SDL_VIDEODRIVER": os.environ.get("SDL_VIDEODRIVER", "offscreen"),
        "KIVY_HOME": str(tmp_path / "kivy-home"),
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
    }

    async def control(**request: Any) -> Any:
        try:
            return await call_control(device_dir, request, timeout_s=5)
        except OSError:
            return {"ok": False, "reason": "no control socket yet"}

    async with serving_hub(settings):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "anxin", "device", "kiosk", "--id", "kiosk-01", "--sim", "--ui",
            cwd=REPO, env=env,
        )  # fmt: skip
        try:
            # The hall arrives: services (blocks), the library (HTTP), the waits.
            async def shown() -> Any:
                ui = await control(op="ui")
                ready = ui.get("ok") and ui["services"] == ["individual_business", "id_card"]
                ready = ready and ui["matters"] == len(small_library().matters)
                ready = ready and ui["queues"].get("individual_business") == 2
                return ui if ready and ui["screen"] in ("home", "attract") else None

            ui = await wait_for(shown, within=40, what="the hall on the kiosk screen")
            if ui["screen"] == "attract":
                assert (await control(op="tap", key="start"))["ok"]
            ui = await wait_for(shown, within=5, what="the home screen")
            assert ui["screen"] == "home", ui
            assert ui["online"]
            keys = [b["key"] for b in ui["buttons"]]
            assert "area:zonghe" in keys
            assert "matter:individual_setup" in keys  # a frequent matter from the library
            assert "综合窗口区" in ui["texts"]
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "kiosk-device-home.png"
            shot.unlink(missing_ok=True)
            assert (await control(op="screenshot", path=str(shot)))["ok"]
            assert shot.stat().st_size > 10_000

            # A citizen taps the area, then 居民身份证.
            assert (await control(op="tap", key="area:zonghe"))["ok"]
            await wait_for(
                lambda: _screen_is(control, "area"), within=5, what="the area's services"
            )
            assert (await control(op="tap", key="service:id_card"))["ok"]

            async def printed() -> Any:
                ui = await control(op="ui")
                done = ui.get("ok") and ui["issued"] and not ui["printing"]
                return ui if done and ui["screen"] == "ticket" else None

            ui = await wait_for(printed, within=15, what="the printed ticket")
            ticket = ui["issued"][0]
            assert ticket["number"].startswith("D"), ui
            assert not ticket["offline"]
            assert ui["print_problems"] == []
            await control(op="screenshot", path=str(ARTIFACTS / "kiosk-device-ticket.png"))

            stored = {t.number: t for t in await asyncio.to_thread(hub_tickets, url)}
            assert stored[ticket["number"]].channel == Channel.KIOSK.value
            status = await control(op="status")
            assert status["online_issued"] == 1
            assert status["printer"]["jobs"] == 1
            assert status["printer"]["bytes"] > 200

            # SIGTERM closes the window and stops the agent cleanly.
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 20) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def _screen_is(control: Any, screen: str) -> bool:
    ui = await control(op="ui")
    return bool(ui.get("ok") and ui["screen"] == screen)
