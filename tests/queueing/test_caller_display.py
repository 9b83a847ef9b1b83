"""The caller box at window 1 through the real hub and broker: its 4-digit display
shows the window's ticket whoever called it (the box or the clerk's workstation
over the API), blinks a refusal's code, and its transfer button sends the ticket
being served to the service an admin set for it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]
from sqlalchemy import select

from anxin.settings import GpioButtonsPort, GpioLedPort, PortsSettings, Tm1637Port
from broker.contract import DeviceKind
from broker.session import Backoff
from central.auth.models import Role, User
from central.queueing import service
from central.queueing.callers import NO_TRANSFER_TARGET, UNBOUND
from central.queueing.fairness import verify_chain
from central.queueing.models import Channel, Service, Ticket
from edge.agent import DeviceAgent
from edge.kinds import caller as caller_kind
from edge.kinds.caller import refusal_code
from edge.ports.factory import build_ports
from edge.runner import make_agent
from tests.central.conftest import PASSWORD, Hub, running_hub
from tests.central.fakes import eventually
from tests.conftest import RunningBroker
from tests.edge.support import device_settings
from tests.edge.tm1637 import Tm1637Chip, wire_chip
from tests.queueing.hall import MORNING, Hall
from tests.queueing.test_api import _hall, all_day  # noqa: F401 - the fixture
from tests.queueing.test_callers import CALLER, feedback_results

PINS = {"next": 17, "start": 27, "transfer": 22}
LED_PIN, CLK, DIO = 18, 23, 24


@pytest.fixture
def chip(pins: MockFactory) -> Tm1637Chip:
    return wire_chip(pins, CLK, DIO)


@pytest.fixture
async def hall_hub(
    all_day: None,  # noqa: F811 - the fixture imported above
    mosquitto: RunningBroker,
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Hub]:
    # The hub's clock is a fixed weekday morning: callers, API and publisher agree on "now".
    async with running_hub(
        database_url=database_url, tmp_path=tmp_path, broker=mosquitto, clock_start=MORNING
    ) as h:
        await h.add_user("wangfang", Role.CLERK)
        _hall(h, ["wangfang"])
        with h.state.sessions() as s:  # where the transfer button sends tickets
            s.add(Service(code="realestate", name="不动产登记", area_id=1, prefix="B",
                          opens_at=dt.time(0, 0), closes_at=dt.time(23, 59, 59)))  # fmt: skip
            s.commit()
        yield h


@pytest.fixture
async def caller(
    hall_hub: Hub,
    mosquitto: RunningBroker,
    pins: MockFactory,
    chip: Tm1637Chip,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[DeviceAgent]:
    monkeypatch.setattr(caller_kind, "CODE_S", 1.0)  # the refusal's code, shorter for the test
    config = PortsSettings(
        buttons=GpioButtonsPort(pins=PINS, bounce_s=0.01, repeat_guard_s=0.0),
        led=GpioLedPort(pin=LED_PIN),
        digits=Tm1637Port(clk=CLK, dio=DIO),
    )
    ports = build_ports(("buttons", "led", "digits"), config, sim=False, pin_factory=pins)
    settings = device_settings(mosquitto, tmp_path / "caller", CALLER, DeviceKind.CALLER)
    agent = make_agent(settings, ports=ports, backoff=Backoff(0.1, 0.5))
    await agent.start()
    await asyncio.wait_for(agent.wait_online(), 5)
    await eventually(lambda: hall_hub.state.bridge.snapshot(CALLER) is not None, what="birth")
    try:
        yield agent
    finally:
        await agent.stop()


def _press(pins: MockFactory, button: str) -> None:
    pins.pin(LED_PIN).clear_states()
    pins.pin(PINS[button]).drive_low()
    pins.pin(PINS[button]).drive_high()


def _lit(pins: MockFactory) -> int:
    return sum(1 for p in pins.pin(LED_PIN).states if p.state)


async def _shows(chip: Tm1637Chip, text: str) -> None:
    await eventually(lambda: chip.shown == text, what=f"the box's display to show {text!r}")


def _issue(hub: Hub, count: int) -> list[str]:
    with hub.state.sessions() as s:
        return [
            service.issue(
                s, service="general", channel=Channel.KIOSK, bus=hub.state.queue_bus,
                settings=hub.settings, now=hub.state.clock.now(),
            ).number
            for _ in range(count)
        ]  # fmt: skip


def _login(hub: Hub) -> None:
    with hub.state.sessions() as s:
        clerk = s.scalar(select(User.id).where(User.username == "wangfang"))
        assert clerk is not None
        service.login(
            s, window=1, clerk_id=clerk, actor=service.Actor(clerk), bus=hub.state.queue_bus,
            settings=hub.settings, now=hub.state.clock.now(),
        )  # fmt: skip


async def _clerk_signs_in(hub: Hub) -> None:
    """wangfang signs in on the workstation (the API the page uses)."""
    r = await hub.client.post(
        "/api/v1/auth/login", json={"username": "wangfang", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    hub.client.headers["X-CSRF-Token"] = r.json()["csrf_token"]


async def _window(hub: Hub, verb: str, body: dict[str, Any] | None = None) -> Any:
    r = await hub.client.post(f"/api/v1/queue/windows/1/{verb}", json=body or {})
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_box_shows_the_windows_ticket_whoever_calls_and_blinks_a_refusal(
    hall_hub: Hub, caller: DeviceAgent, pins: MockFactory, chip: Tm1637Chip
) -> None:
    hub = hall_hub
    await _shows(chip, "E-03")  # not bound yet: the installer sees it at once

    await hub.state.bridge.update_settings(CALLER, {"window": 1})
    await _shows(chip, "    ")  # dark: window 1 is closed, nobody signed in
    await _clerk_signs_in(hub)
    await _window(hub, "login")
    await _shows(chip, "----")  # open, nobody called

    first, second, _third = _issue(hub, 3)
    _press(pins, "next")  # on the box
    await _shows(chip, first)
    assert (await feedback_results(hub, 1))[-1]["digits"] == first

    await _window(hub, "next", {"finish_current": "completed"})  # on the workstation
    await _shows(chip, second)
    await _window(hub, "start")
    await _window(hub, "finish", {"outcome": "completed"})
    await _shows(chip, "----")
    await _window(hub, "pause", {"reason": "break"})
    await _shows(chip, "P---")

    chip.history.clear()
    _press(pins, "next")  # paused: refused
    refused = (await feedback_results(hub, 2))[-1]
    assert refused["args"]["ok"] is False
    assert "已暂停" in refused["args"]["reason"]
    assert refused["digits"] == "E-02"
    await _shows(chip, "")  # blinking
    await _shows(chip, "P---")  # and back to the window's state
    assert ("E-02", True) in chip.history
    assert chip.history[-1] == ("P---", True)


async def test_the_transfer_button_sends_the_ticket_to_the_callers_target(
    hall_hub: Hub, caller: DeviceAgent, pins: MockFactory, chip: Tm1637Chip
) -> None:
    hub = hall_hub
    state = hub.state
    hall = Hall(hub.settings, state.engine, state.sessions, bus=state.queue_bus)
    await hub.sign_in(Role.ADMIN)
    r = await hub.client.post("/devices/bind", data={"device_id": CALLER, "window": "1"})
    assert "已绑定到 1 号窗口" in r.text
    _login(hub)
    (number,) = _issue(hub, 1)
    _press(pins, "next")
    await _shows(chip, number)
    _press(pins, "start")
    await feedback_results(hub, 2)

    # No target yet: refused with the reason, LED and display say so, nothing changes.
    before = hall.snapshot()
    _press(pins, "transfer")
    refused = (await feedback_results(hub, 3))[-1]
    assert refused["args"] == {
        "button": "transfer", "ok": False, "reason": NO_TRANSFER_TARGET, "ticket": None,
        "window": 1,
    }  # fmt: skip
    assert refused["shown"] == "未执行：未设置转办业务，请在工作台转办"
    assert refused["digits"] == "E-04"
    await _shows(chip, "")  # the code blinks ...
    await _shows(chip, number)  # ... then the ticket is back: it was not transferred
    assert _lit(pins) == 4
    assert hall.snapshot() == before

    # The admin sets the target on the devices page (an unknown one is refused).
    r = await hub.client.post(
        "/devices/bind", data={"device_id": CALLER, "window": "1", "transfer_to": "nosuch"}
    )
    assert "大厅没有业务 nosuch" in r.text
    r = await hub.client.post(
        "/devices/bind", data={"device_id": CALLER, "window": "1", "transfer_to": "realestate"}
    )
    assert "已绑定到 1 号窗口，转办键转到业务 realestate" in r.text
    await eventually(
        lambda: (
            caller.config is not None
            and caller.config.settings == {"window": 1, "transfer_to": "realestate"}
        ),
        what="the target in the caller's retained config",
    )
    page = await hub.client.get("/devices")
    assert "转办键：不动产登记（realestate）" in page.text

    _press(pins, "transfer")
    accepted = (await feedback_results(hub, 4))[-1]
    assert accepted["args"]["ok"] is True
    assert accepted["shown"] == "1 号窗口 已转办"
    await _shows(chip, "----")  # nobody at the window now

    def look() -> tuple[Ticket, Ticket, list[Any]]:
        with state.sessions() as s:
            old = s.scalar(select(Ticket).where(Ticket.number == number))
            assert old is not None
            new = s.scalar(select(Ticket).where(Ticket.transferred_from_id == old.id))
            assert new is not None
            return old, new, service.timeline(s, old.id)

    old, new, timeline = look()
    assert old.state == "transferred"
    assert (new.number, new.state, new.service_id) == ("B001", "waiting", _service_id(hub))
    assert new.queued_at == old.queued_at  # keeps its place in the new queue
    last = timeline[-1]
    assert (last.verb, last.reason) == ("transfer", "preset_route")
    assert last.detail["to"] == "realestate"
    assert last.detail["return"] is False
    entry = hall.fairness()[-1]
    assert (entry.kind, entry.reason, entry.ticket_number) == ("transfer", "preset_route", number)
    assert entry.detail == {"to": "realestate", "new_number": "B001", "return": False}
    with state.sessions() as s:
        assert verify_chain(s).ok

    # A form without the field keeps the target; the form's 不设置 ("-") removes it.
    await hub.client.post("/devices/bind", data={"device_id": CALLER, "window": "1"})
    assert _settings(hub) == {"window": 1, "transfer_to": "realestate"}
    r = await hub.client.post(
        "/devices/bind", data={"device_id": CALLER, "window": "1", "transfer_to": "-"}
    )
    assert "转办键未设置" in r.text
    assert _settings(hub) == {"window": 1}


def _settings(hub: Hub) -> dict[str, Any]:
    snap = hub.state.bridge.snapshot(CALLER)
    assert snap is not None
    return snap.settings


def _service_id(hub: Hub) -> int:
    with hub.state.sessions() as s:
        sid = s.scalar(select(Service.id).where(Service.code == "realestate"))
        assert sid is not None
        return sid


def test_the_boxs_codes_match_the_hubs_reasons() -> None:
    """The box reads the hub's Chinese reason: the hub's own words give the documented codes."""
    assert refusal_code("当前没有等候的群众") == "----"
    assert refusal_code(UNBOUND) == "E-03"
    assert refusal_code(NO_TRANSFER_TARGET) == "E-04"


def test_the_hubs_refusals_give_the_codes(counter: Hall) -> None:
    from central.queueing.errors import QueueError

    def reason(verb: str, **kw: Any) -> str:
        with pytest.raises(QueueError) as caught:
            counter.verb(verb, 1, **kw)
        return caught.value.message

    assert refusal_code(reason("finish", outcome="completed")) == "E-05"  # no ticket
    counter.verb("pause", 1, reason="break")
    assert refusal_code(reason("call_next")) == "E-02"
    counter.verb("resume", 1)
    counter.verb("logout", 1)
    assert refusal_code(reason("call_next")) == "E-01"


def test_the_transfer_target_is_set_from_the_command_line(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from anxin.cli import app
    from central.db import make_engine, make_sessionmaker, upgrade_database
    from central.devices.models import Device
    from central.queueing.models import ServiceArea, Window
    from tests.central.conftest import hub_settings

    settings = hub_settings(database_url=database_url, tmp_path=tmp_path)
    upgrade_database(settings)
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as s:
        now = MORNING
        s.add(Device(id=CALLER, kind="caller", version="1", boot_id="b", first_seen=now,
                     status_changed_at=now))  # fmt: skip
        area = ServiceArea(code="zonghe", name="综合窗口区", sort=0)
        s.add(area)
        s.flush()
        s.add(Window(number=7, name="7号窗口", area_id=area.id))
        s.add(Service(code="realestate", name="不动产登记", area_id=area.id, prefix="B",
                      opens_at=dt.time(8, 30), closes_at=dt.time(17, 30)))  # fmt: skip
        s.commit()
    monkeypatch.setenv("ANXIN_HUB__DATABASE_URL", database_url)
    monkeypatch.setenv("ANXIN_DATA_DIR", str(tmp_path / "hub-data"))
    monkeypatch.setenv("ANXIN_MQTT__PORT", "1")  # no broker: published when the hub reconnects
    runner = CliRunner()

    def settings_now() -> dict[str, Any]:
        with make_sessionmaker(engine)() as s:
            device = s.get(Device, CALLER)
            assert device is not None
            return dict(device.settings or {})

    bound = runner.invoke(
        app, ["devices", "bind", CALLER, "--window", "7", "--transfer-to", "realestate"]
    )
    assert bound.exit_code == 0, bound.output
    assert "呼叫器 caller-07 已绑定到 7 号窗口，转办键转到业务 realestate" in bound.output
    assert settings_now() == {"window": 7, "transfer_to": "realestate"}

    missing = runner.invoke(app, ["devices", "bind", CALLER, "--transfer-to", "nosuch"])
    assert missing.exit_code == 1
    assert "大厅没有业务 nosuch" in missing.output
    both = runner.invoke(app, ["devices", "bind", CALLER, "--window", "7", "--unbind"])
    assert both.exit_code == 2
    nothing = runner.invoke(app, ["devices", "bind", CALLER])
    assert nothing.exit_code == 2
    assert settings_now() == {"window": 7, "transfer_to": "realestate"}

    cleared = runner.invoke(app, ["devices", "bind", CALLER, "--no-transfer"])
    assert cleared.exit_code == 0, cleared.output
    assert "已取消转办键的业务" in cleared.output
    assert settings_now() == {"window": 7}
    engine.dispose()
