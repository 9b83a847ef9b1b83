"""A caller at a window, as the clerk sees it: bound by the admin to window 1,
its button calls the next citizen, and its LED says whether that happened."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]
from sqlalchemy import select
from typer.testing import CliRunner

from anxin.cli import app
from anxin.settings import GpioButtonsPort, GpioLedPort, PortsSettings
from broker.contract import DeviceKind, utcnow
from broker.session import Backoff
from central.auth.models import Role, User
from central.devices.models import Device, DeviceCommand
from central.queueing import service
from central.queueing.callers import UNBOUND
from central.queueing.models import Channel
from edge.agent import DeviceAgent
from edge.kinds.caller import feedback_text
from edge.ports.factory import build_ports
from edge.runner import make_agent
from tests.central.conftest import Hub, running_hub
from tests.central.fakes import eventually
from tests.conftest import RunningBroker
from tests.edge.support import device_settings
from tests.queueing.test_api import _hall, all_day  # noqa: F401 - the fixture

BUTTON_PIN, LED_PIN = 17, 18
CALLER = "caller-07"


@pytest.fixture
async def hall_hub(
    all_day: None,  # noqa: F811 - the fixture imported above
    mosquitto: RunningBroker,
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Hub]:
    async with running_hub(database_url=database_url, tmp_path=tmp_path, broker=mosquitto) as h:
        await h.add_user("wangfang", Role.CLERK)
        _hall(h, ["wangfang"])
        yield h


@pytest.fixture
async def caller(
    hall_hub: Hub, mosquitto: RunningBroker, pins: MockFactory, tmp_path: Path
) -> AsyncIterator[DeviceAgent]:
    config = PortsSettings(
        buttons=GpioButtonsPort(pins={"next": BUTTON_PIN}, bounce_s=0.01),
        led=GpioLedPort(pin=LED_PIN),
    )
    ports = build_ports(("buttons", "led"), config, sim=False, pin_factory=pins)
    settings = device_settings(mosquitto, tmp_path / "caller", CALLER, DeviceKind.CALLER)
    agent = make_agent(settings, ports=ports, backoff=Backoff(0.1, 0.5))
    await agent.start()
    await asyncio.wait_for(agent.wait_online(), 5)
    await eventually(lambda: hall_hub.state.bridge.snapshot(CALLER) is not None, what="birth")
    try:
        yield agent
    finally:
        await agent.stop()


def _lit(pins: MockFactory) -> int:
    """How many times the LED went on since the last press."""
    return sum(1 for p in pins.pin(LED_PIN).states if p.state)


def _press(pins: MockFactory) -> None:
    pins.pin(LED_PIN).clear_states()
    pins.pin(BUTTON_PIN).drive_low()
    pins.pin(BUTTON_PIN).drive_high()


async def feedback_results(hub: Hub, count: int) -> list[dict[str, Any]]:
    """What the caller answered to the hub's feedback commands, oldest first:
    the command's ``args`` and the result's data (``shown``, ``digits``)."""

    def rows() -> list[DeviceCommand]:
        with hub.state.sessions() as s:
            query = (
                select(DeviceCommand)
                .where(DeviceCommand.device_id == CALLER, DeviceCommand.name == "feedback")
                .where(DeviceCommand.status == "succeeded")
                .order_by(DeviceCommand.issued_at)
            )
            return list(s.scalars(query))

    await eventually(lambda: len(rows()) >= count, what=f"{count} feedback results")
    return [{"args": r.args, **r.data} for r in rows()]


def _login(hub: Hub) -> None:
    with hub.state.sessions() as s:
        clerk = s.scalar(select(User.id).where(User.username == "wangfang"))
        assert clerk is not None
        service.login(
            s, window=1, clerk_id=clerk, actor=service.Actor(clerk), bus=hub.state.queue_bus,
            settings=hub.settings,
        )  # fmt: skip


async def test_a_bound_caller_is_told_when_nobody_waits_and_when_it_calls_a_number(
    hall_hub: Hub, caller: DeviceAgent, pins: MockFactory
) -> None:
    hub = hall_hub
    # Unbound: the press is refused and the clerk sees why.
    _press(pins)
    (first,) = await feedback_results(hub, 1)
    assert first["args"]["ok"] is False
    assert first["args"]["reason"] == UNBOUND
    await asyncio.sleep(1.2)  # its fast blinks are over before the next press

    # The admin binds caller-07 to window 1 on the devices page.
    await hub.sign_in(Role.ADMIN)
    r = await hub.client.post("/devices/bind", data={"device_id": CALLER, "window": "1"})
    assert r.status_code == 200
    assert "已绑定到 1 号窗口" in r.text
    await eventually(
        lambda: caller.config is not None and caller.config.settings.get("window") == 1,
        what="the binding in the caller's retained config",
    )
    page = await hub.client.get("/devices/table")
    assert "1 号窗口" in page.text

    # Window 1 signed in, nobody waiting: refused with the reason, LED blinks fast.
    _login(hub)
    _press(pins)
    refused = (await feedback_results(hub, 2))[-1]
    assert refused["args"] == {
        "button": "next", "ok": False, "reason": "当前没有等候的群众", "ticket": None, "window": 1,
    }  # fmt: skip
    assert refused["shown"] == "未执行：当前没有等候的群众"
    await asyncio.sleep(1.2)
    assert _lit(pins) == 4

    # A citizen takes a ticket; the next press calls it: accepted with the number.
    with hub.state.sessions() as s:
        ticket = service.issue(
            s, service="general", channel=Channel.KIOSK, bus=hub.state.queue_bus,
            settings=hub.settings, now=utcnow(),
        )  # fmt: skip
    _press(pins)
    accepted = (await feedback_results(hub, 3))[-1]
    assert accepted["args"]["ok"] is True
    assert accepted["args"]["ticket"] == ticket.number
    assert accepted["shown"] == f"1 号窗口 当前号码 {ticket.number}"
    await asyncio.sleep(1.3)
    assert _lit(pins) == 1


def test_the_screen_text_of_a_feedback_is_chinese() -> None:
    from broker.contract import CallerFeedback

    assert feedback_text(CallerFeedback(button="next", ok=True, ticket="A012", window=5)) == (
        "5 号窗口 当前号码 A012"
    )
    assert feedback_text(CallerFeedback(button="pause", ok=False, reason="窗口未登录")) == (
        "未执行：窗口未登录"
    )


def test_a_caller_is_bound_from_the_command_line(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from central.db import database_url as url_of
    from central.db import make_engine, make_sessionmaker, upgrade_database
    from tests.central.conftest import hub_settings

    settings = hub_settings(database_url=database_url, tmp_path=tmp_path)
    upgrade_database(settings)
    engine = make_engine(url_of(settings))
    with make_sessionmaker(engine)() as s:
        now = utcnow()
        s.add(Device(id=CALLER, kind="caller", version="1", boot_id="b", first_seen=now,
                     status_changed_at=now))  # fmt: skip
        s.commit()
    monkeypatch.setenv("ANXIN_HUB__DATABASE_URL", database_url)
    monkeypatch.setenv("ANXIN_DATA_DIR", str(tmp_path / "hub-data"))
    monkeypatch.setenv("ANXIN_MQTT__PORT", "1")  # no broker: published when the hub reconnects
    runner = CliRunner()

    missing = runner.invoke(app, ["devices", "bind", CALLER, "--window", "7"])
    assert missing.exit_code == 1
    assert "大厅没有 7 号窗口" in missing.output

    with make_sessionmaker(engine)() as s:
        from central.queueing.models import ServiceArea, Window

        area = ServiceArea(code="zonghe", name="综合窗口区", sort=0)
        s.add(area)
        s.flush()
        s.add(Window(number=7, name="7号窗口", area_id=area.id))
        s.commit()
    bound = runner.invoke(app, ["devices", "bind", CALLER, "--window", "7"])
    assert bound.exit_code == 0, bound.output
    assert "呼叫器 caller-07 已绑定到 7 号窗口" in bound.output
    with make_sessionmaker(engine)() as s:
        device = s.get(Device, CALLER)
        assert device is not None
        assert device.settings == {"window": 7}
        assert device.config_version == 1
    unbound = runner.invoke(app, ["devices", "bind", CALLER, "--unbind"])
    assert unbound.exit_code == 0, unbound.output
    engine.dispose()


def test_every_button_a_caller_may_wire_has_a_verb_at_the_hub() -> None:
    from broker.contract import CALLER_BUTTONS
    from central.queueing.callers import _VERBS
    from central.ratings.codes import RATING_BUTTONS

    assert set(_VERBS) | set(RATING_BUTTONS) == CALLER_BUTTONS
