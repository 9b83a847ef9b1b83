"""The caller box's 4-digit display follows its window's retained ``hall/window/{n}``
and blinks a refused press's code (a test-side hub publishes; a TM1637 decoder reads)."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

from anxin.settings import PortsSettings, Tm1637Port
from broker.contract import (
    CallerFeedback,
    DeviceConfig,
    DeviceKind,
    HallWindow,
    ResultStatus,
    WindowPhase,
)
from edge.agent import DeviceAgent
from edge.kinds import caller as caller_kind
from edge.kinds.caller import refusal_code, window_text
from edge.ports.factory import build_ports
from tests.edge.conftest import StartDevice
from tests.edge.support import TinyHub, wait_until
from tests.edge.tm1637 import Tm1637Chip, wire_chip

CLK, DIO = 23, 24
CALLER = "caller-07"


@pytest.fixture
def chip(pins: MockFactory) -> Tm1637Chip:
    return wire_chip(pins, CLK, DIO)


async def _caller(start_device: StartDevice, pins: MockFactory) -> DeviceAgent:
    config = PortsSettings(digits=Tm1637Port(clk=CLK, dio=DIO, brightness=2))
    ports = build_ports(("buttons", "led", "digits"), config, sim=False, pin_factory=pins)
    return await start_device(CALLER, DeviceKind.CALLER, ports=ports)


def _bind(hub: TinyHub, window: int | None, version: int = 1) -> None:
    settings = {} if window is None else {"window": window}
    hub.publish(
        hub.topics.config(CALLER),
        DeviceConfig(config_version=version, settings=settings),
        retain=True,
    )


def _window(hub: TinyHub, n: int, status: WindowPhase, ticket: str | None = None) -> None:
    state = HallWindow(
        window=n, name=f"{n}号窗口", status=status, ticket=ticket,
        ticket_state="called" if ticket else None,
    )  # fmt: skip
    hub.publish(hub.topics.hall_window(n), state, retain=True)


async def _shows(chip: Tm1637Chip, text: str) -> None:
    await wait_until(lambda: chip.shown == text, what=f"the display to show {text!r}")


async def test_the_display_follows_the_bound_window(
    hub: TinyHub, start_device: StartDevice, pins: MockFactory, chip: Tm1637Chip
) -> None:
    _window(hub, 7, WindowPhase.OPEN, "A012")  # retained before the caller is bound
    agent = await _caller(start_device, pins)
    await _shows(chip, "E-03")  # not bound to a window yet
    assert chip.brightness == 2

    _bind(hub, 7)
    await _shows(chip, "A012")

    _window(hub, 8, WindowPhase.OPEN, "B001")  # another window: not ours
    _window(hub, 7, WindowPhase.OPEN, "A013")
    await _shows(chip, "A013")
    assert "b001" not in [t.lower() for t, _ in chip.history]

    _window(hub, 7, WindowPhase.OPEN)
    await _shows(chip, "----")
    _window(hub, 7, WindowPhase.PAUSED)
    await _shows(chip, "P---")
    _window(hub, 7, WindowPhase.PAUSED, "A014")  # paused while still serving
    await _shows(chip, "A014")
    _window(hub, 7, WindowPhase.CLOSED)
    await wait_until(lambda: chip.text == "    ", what="a closed window's dark display")

    _bind(hub, None, version=2)
    await _shows(chip, "E-03")
    assert agent.ports.digits is not None
    assert agent.ports.states()["digits"] == "ok"


async def test_malformed_window_payloads_are_rejected_and_the_display_carries_on(
    hub: TinyHub, start_device: StartDevice, pins: MockFactory, chip: Tm1637Chip
) -> None:
    agent = await _caller(start_device, pins)
    _bind(hub, 7)
    _window(hub, 7, WindowPhase.OPEN, "A012")
    await _shows(chip, "A012")
    topic = hub.topics.hall_window(7)
    good = HallWindow(window=7, name="7号窗口", status=WindowPhase.OPEN, ticket="A099")
    bad = [
        b"{not json",
        b"[]",
        good.model_dump_json().replace('"open"', '"on fire"').encode(),
        good.model_dump_json().replace('"A099"', '"A0990000000"').encode(),  # > 8 characters
        good.model_dump_json().replace('"v":1', '"v":99').encode(),
        b"x" * 70_000,
    ]
    before = agent.rejected
    for raw in bad:
        assert hub.session.publish(topic, raw, qos=1, retain=True)
    await wait_until(lambda: agent.rejected >= before + len(bad), what="every payload rejected")
    assert chip.shown == "A012"

    _window(hub, 7, WindowPhase.OPEN, "A013")  # the next good one shows
    await _shows(chip, "A013")


async def test_a_refused_press_blinks_its_code_then_the_ticket_is_back(
    hub: TinyHub,
    start_device: StartDevice,
    pins: MockFactory,
    chip: Tm1637Chip,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(caller_kind, "CODE_S", 1.0)
    await _caller(start_device, pins)
    _bind(hub, 7)
    _window(hub, 7, WindowPhase.OPEN, "A012")
    await _shows(chip, "A012")
    chip.history.clear()

    refused = CallerFeedback(button="next", ok=False, reason="7 号窗口未登录，请先登录", window=7)
    final = await hub.wait_final(hub.command(CALLER, "feedback", refused.model_dump()))
    assert final.status is ResultStatus.SUCCEEDED
    assert final.data == {"shown": "未执行：7 号窗口未登录，请先登录", "digits": "E-01"}
    assert chip.text == "E-01"
    await _shows(chip, "")  # dark between flashes
    await _shows(chip, "E-01")
    await _shows(chip, "A012")  # after CODE_S
    assert chip.history[0] == ("E-01", True)
    assert chip.history.count(("E-01", True)) >= 2
    assert chip.history[-1] == ("A012", True)

    # An accepted press ends a code at once.
    nobody = CallerFeedback(button="next", ok=False, reason="当前没有等候的群众", window=7)
    await hub.wait_final(hub.command(CALLER, "feedback", nobody.model_dump()))
    assert chip.text == "----"
    accepted = CallerFeedback(button="recall", ok=True, ticket="A012", window=7)
    final = await hub.wait_final(hub.command(CALLER, "feedback", accepted.model_dump()))
    assert final.data["digits"] == "A012"
    assert chip.shown == "A012"


def test_refusal_codes_and_window_texts() -> None:
    assert refusal_code("当前没有等候的群众") == "----"
    assert refusal_code("3 号窗口未登录，请先登录") == "E-01"
    assert refusal_code("3 号窗口已暂停（休息），请先恢复服务") == "E-02"
    assert refusal_code("本呼叫器未绑定窗口，请联系管理员") == "E-03"
    assert refusal_code("未设置转办业务，请在工作台转办") == "E-04"
    assert refusal_code("3 号窗口当前没有号码") == "E-05"
    assert refusal_code("号码 A012 已重呼 3 次，请标记过号") == "E-09"
    assert refusal_code(None) == "E-09"

    def w(status: WindowPhase, ticket: str | None = None) -> HallWindow:
        return HallWindow(window=1, name="1号窗口", status=status, ticket=ticket)

    assert window_text(w(WindowPhase.OPEN, "A012"), bound=True) == "A012"
    assert window_text(w(WindowPhase.OPEN), bound=True) == "----"
    assert window_text(w(WindowPhase.PAUSED), bound=True) == "P---"
    assert window_text(w(WindowPhase.CLOSED), bound=True) == "    "
    assert window_text(None, bound=True) == "    "
    assert window_text(None, bound=False) == "E-03"
