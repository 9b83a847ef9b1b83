"""An admin turns the hall board into an area board from the hub; the board
(the real display agent on a real Mosquitto) shows only that area's calls.
Bad settings are refused with a Chinese reason and change nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from anxin.cli import app
from central.auth.models import Role, User
from central.devices.models import Device
from central.queueing.models import ClerkService, Service, ServiceArea, Window, WindowService
from display.board.settings import BoardKind
from tests.central.conftest import PASSWORD, Hub, running_hub
from tests.central.fakes import eventually
from tests.conftest import RunningBroker
from tests.display.test_board_device import BOARD, display_device
from tests.queueing.hall import MORNING


def two_area_hall(hub: Hub) -> None:
    """综合窗口区 (general, A, window 1) and 不动产登记区 (property, B, window 3);
    the clerks ``clerk-user`` and ``clerk-b`` may serve both."""
    from sqlalchemy import select

    with hub.state.sessions() as s:
        clerks = list(
            s.scalars(select(User.id).where(User.username.in_(["clerk-user", "clerk-b"])))
        )
        for code, name, svc_code, svc_name, prefix, number in (
            ("zonghe", "综合窗口区", "general", "综合受理", "A", 1),
            ("budongchan", "不动产登记区", "property", "不动产登记", "B", 3),
        ):
            area = ServiceArea(code=code, name=name, sort=number)
            s.add(area)
            s.flush()
            svc = Service(
                code=svc_code,
                name=svc_name,
                area_id=area.id,
                prefix=prefix,
                opens_at=dt.time(0, 0),
                closes_at=dt.time(23, 59, 59),
            )
            s.add(svc)
            s.flush()
            win = Window(number=number, name=f"{number}号窗口", area_id=area.id)
            s.add(win)
            s.flush()
            s.add(WindowService(window_id=win.id, service_id=svc.id, weight=1.0))
            for clerk in clerks:
                s.add(ClerkService(user_id=clerk, service_id=svc.id))
        s.commit()


async def signed_in(hub: Hub, username: str, role: Role) -> httpx.AsyncClient:
    await hub.add_user(username, role)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hub.app), base_url="http://hub.test"
    )
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


async def call(clerk: httpx.AsyncClient, window: int, service: str) -> str:
    r = await clerk.post("/api/v1/queue/tickets", json={"service": service})
    assert r.status_code == 201, r.text
    r = await clerk.post(f"/api/v1/queue/windows/{window}/login", json={})
    assert r.status_code == 200, r.text
    r = await clerk.post(f"/api/v1/queue/windows/{window}/next")
    assert r.status_code == 200, r.text
    return str(r.json()["ticket"]["number"])


async def registered(hub: Hub) -> None:
    """Wait for the display's birth in the hub's registry."""

    def known() -> bool:
        with hub.state.sessions() as s:
            return s.get(Device, BOARD) is not None

    await eventually(known, what="the display's birth in the registry")


def stored_settings(hub: Hub) -> dict[str, Any]:
    with hub.state.sessions() as s:
        device = s.get(Device, BOARD)
        assert device is not None
        s.expire_all()
        return dict(device.settings or {})


async def test_an_admin_makes_the_hall_board_an_area_board(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    async with running_hub(
        database_url=url, tmp_path=tmp_path, broker=mosquitto, clock_start=MORNING
    ) as hub:
        await hub.sign_in(Role.CLERK)
        other = await signed_in(hub, "clerk-b", Role.CLERK)
        admin = await signed_in(hub, "admin-user", Role.ADMIN)
        two_area_hall(hub)
        async with display_device(mosquitto, tmp_path) as (display, _speaker, _serial, _agent):
            a = await call(hub.client, 1, "general")
            b = await call(other, 3, "property")
            await eventually(
                lambda: {r.ticket for r in display.vm.view().calls} == {a, b},
                what="both calls on the hall board",
            )
            assert display.vm.view().kind is BoardKind.HALL

            # Refused: an area board with no area, an area the hall lacks, a silly hold.
            for form, reason in (
                ({"board": "area"}, "区域屏需要填写区域代码"),
                ({"board": "area", "area": "nowhere"}, "大厅没有区域“nowhere”"),
                ({"board": "hall", "highlight_s": "99"}, "新呼叫突出显示时长应在 1–30 秒之间"),
                ({"board": "window", "window": "9"}, "大厅没有 9 号窗口"),
                ({"board": "hall", "services": "general nosuch"}, "大厅没有业务“nosuch”"),
            ):
                r = await admin.post(
                    "/devices/display-settings", data={"device_id": BOARD, "announce": "1", **form}
                )
                assert r.status_code == 200
                assert reason in r.text, (form, r.text)
            assert stored_settings(hub) == {}

            r = await admin.post(
                "/devices/display-settings",
                data={
                    "device_id": BOARD,
                    "board": "area",
                    "area": "budongchan",
                    "services": "property",
                    "title": "不动产登记区",
                    "notices": "请携带身份证原件\n\n午间不休息",
                    "highlight_s": "6",
                },  # announce unticked: this board is silent
            )
            assert "已更新：区域屏 · 区域 budongchan · 不播报" in r.text, r.text

            def area_board() -> bool:
                view = display.vm.view()
                return view.kind is BoardKind.AREA and [c.ticket for c in view.calls] == [b]

            await eventually(area_board, what="the board showing only 不动产登记区")
            view = display.vm.view()
            assert view.title == "不动产登记区"
            assert [w.service for w in view.waits] == ["不动产登记"]
            assert "午间不休息" in view.notices
            assert display.vm.settings.announce is False
            assert display.vm.settings.highlight_s == 6

            # The devices page shows what the board is now.
            page = await admin.get("/devices/table")
            assert "区域屏 · 区域 budongchan" in page.text
            await admin.aclose()
            await other.aclose()


async def test_the_cli_sets_a_display_and_refuses_what_the_board_cannot_show(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    async with running_hub(
        database_url=url, tmp_path=tmp_path, broker=mosquitto, clock_start=MORNING
    ) as hub:
        await hub.sign_in(Role.CLERK)
        two_area_hall(hub)
        env = {
            "ANXIN_HALL": hub.settings.hall,
            "ANXIN_DATA_DIR": str(hub.settings.data_dir),
            "ANXIN_HUB__DATABASE_URL": url,
            "ANXIN_HUB__SECRET_KEY": hub.settings.hub.secret_key.get_secret_value(),
            "ANXIN_MQTT__HOST": mosquitto.host,
            "ANXIN_MQTT__PORT": str(mosquitto.port),
        }
        runner = CliRunner()

        async def cli(*args: str) -> Any:
            # In a thread: the command runs its own asyncio loop.
            return await asyncio.to_thread(
                runner.invoke, app, ["devices", "display", *args], env=env
            )

        async with display_device(mosquitto, tmp_path) as (display, speaker, _serial, _agent):
            await registered(hub)
            bad = await cli(BOARD, "--board", "window")
            assert bad.exit_code == 1
            assert "窗口屏需要填写窗口号" in bad.output

            ok = await cli(BOARD, "--board", "window", "--window", "3", "--silent")
            assert ok.exit_code == 0, ok.output
            assert "窗口屏 · 3 号窗口 · 不播报" in ok.output

            await eventually(
                lambda: display.vm.view().kind is BoardKind.WINDOW, what="a window display"
            )
            panel = display.vm.view().window
            assert panel is not None
            assert "3号窗口" in display.vm.view().texts()

            back = await cli(BOARD, "--board", "hall", "--reset", "window")
            assert back.exit_code == 0, back.output
            await eventually(lambda: display.vm.view().kind is BoardKind.HALL, what="hall again")
            assert "window" not in stored_settings(hub)

            # The voice: once per call, no chime; a busy repeat above it is refused.
            bad = await cli(BOARD, "--voice-repeat", "1", "--voice-busy-repeat", "2")
            assert bad.exit_code == 1
            assert "排队较多时播报遍数不能多于每次呼叫播报遍数" in bad.output
            quiet = await cli(BOARD, "--announce", "--voice-repeat", "1", "--no-chime")
            assert quiet.exit_code == 0, quiet.output
            assert "播报 1 遍" in quiet.output
            await eventually(
                lambda: speaker.tuned == {"repeat": 1, "chime": False},
                what="the CLI's voice settings on the speaker",
            )


async def test_an_admin_sets_how_the_board_speaks_and_a_bad_pair_is_refused(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    async with running_hub(
        database_url=url, tmp_path=tmp_path, broker=mosquitto, clock_start=MORNING
    ) as hub:
        await hub.sign_in(Role.CLERK)
        admin = await signed_in(hub, "admin-user", Role.ADMIN)
        two_area_hall(hub)
        async with display_device(mosquitto, tmp_path) as (_display, speaker, _serial, _agent):
            await registered(hub)
            base = {"device_id": BOARD, "board": "hall", "announce": "1"}
            for form, reason in (
                ({"voice_repeat": "9"}, "每次呼叫播报遍数应在 1–5 遍之间"),
                ({"voice_repeat": "1", "voice_busy_repeat": "2"}, "不能多于每次呼叫播报遍数"),
                ({"voice_busy_repeat": "3"}, "不能多于每次呼叫播报遍数"),  # the device's 2
                ({"voice_max_wait_s": "-1"}, "语音积压超时应在 0–3600 秒之间"),
            ):
                r = await admin.post("/devices/display-settings", data=base | form)
                assert reason in r.text, (form, r.text)
            assert stored_settings(hub) == {}
            assert speaker.tuned == {}  # the device's own voice settings

            r = await admin.post(
                "/devices/display-settings",
                data=base | {"voice_repeat": "3", "voice_max_wait_s": "30", "voice_chime": "off"},
            )
            assert "已更新：综合屏 · 播报 3 遍" in r.text, r.text
            await eventually(
                lambda: speaker.tuned == {"repeat": 3, "max_wait_s": 30.0, "chime": False},
                what="the hub's voice settings on the display's speaker",
            )

            # Cleared on the page (blank, select back to 默认): the device's own again.
            r = await admin.post("/devices/display-settings", data=base)
            await eventually(lambda: speaker.tuned == {}, what="the speaker's own settings")
            await admin.aclose()
