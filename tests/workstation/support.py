"""A hall for the workstation and rating tests, inside a hub whose clock
starts at a weekday morning (the hall is open whenever the test runs), and a
caller box with gpiozero mock pins on the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from anxin.settings import GpioButtonsPort, GpioLedPort, PortsSettings, Settings
from broker.contract import DeviceKind
from broker.session import Backoff
from central.app import app_state, create_app
from central.auth.models import Role, User
from central.auth.service import create_user
from central.db import upgrade_database
from central.devices.models import Device
from central.queueing.models import ClerkService, Service
from central.server import run_hub
from central.state import HubState
from edge.agent import DeviceAgent
from edge.ports.factory import build_ports
from edge.runner import make_agent
from tests.central.conftest import PASSWORD, Hub, hub_settings
from tests.central.fakes import eventually
from tests.conftest import RunningBroker
from tests.edge.support import device_settings
from tests.queueing.hall import MORNING, Hall

__all__ = ["MORNING", "PASSWORD", "certify", "hall_in", "hall_of", "live_hub"]

LED_PIN: int = 18
BUTTON_PINS: dict[str, int] = {"next": 17, "start": 27, "finish": 22, "rate_5": 5, "rate_1": 6}


def hall_in(settings: Settings, state: HubState) -> Hall:
    """Services 综合受理 (A) and 不动产登记 (B); window 1 serves both, window 2 A.

    The hall's verbs run at the hub's clock, so the pages, the caller and
    the test agree on "now"."""
    hall = Hall(settings, state.engine, state.sessions, bus=state.queue_bus, now=MORNING)
    hall.tick = lambda seconds=1.0: state.clock.now()  # type: ignore[method-assign]
    hall.service("general", "A", "综合受理")
    hall.service("estate", "B", "不动产登记")
    hall.window(1, {"general": 1.0, "estate": 1.0})
    hall.window(2, {"general": 1.0})
    return hall


def hall_of(hub: Hub) -> Hall:
    return hall_in(hub.settings, hub.state)


def certify(hall: Hall, username: str, codes: list[str]) -> int:
    """Certify an existing user (one that signs in through the web) for services."""

    def add(s: Session) -> int:
        uid = s.scalar(select(User.id).where(User.username == username))
        assert uid is not None
        for code in codes:
            sid = s.scalar(select(Service.id).where(Service.code == code))
            s.add(ClerkService(user_id=uid, service_id=sid))
        return uid

    return hall.db(add)


@dataclass
class LiveHub:
    url: str
    state: HubState
    hall: Hall


@asynccontextmanager
async def live_hub(broker: RunningBroker, tmp_path: Path, clerk: str) -> AsyncIterator[LiveHub]:
    """The whole hub over HTTP (for Chromium) on SQLite and `broker`, with
    the hall above and `clerk` (password `PASSWORD`) certified for A and B."""
    settings = hub_settings(
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path=tmp_path, broker=broker,
        port=0, clock_start=MORNING,
    )  # fmt: skip
    await asyncio.to_thread(upgrade_database, settings)
    app = create_app(settings)
    state = app_state(app)

    def setup() -> Hall:
        with state.sessions() as s:
            user = create_user(s, username=clerk, role=Role.CLERK, password=PASSWORD)
            user.display_name = "王芳"
            s.commit()
        hall = hall_in(settings, state)
        certify(hall, clerk, ["general", "estate"])
        return hall

    hall = await asyncio.to_thread(setup)
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_hub(settings, app=app, ready=ready.set_result))
    try:
        url = await asyncio.wait_for(ready, 15)
        await state.bridge.wait_connected(10)
        yield LiveHub(url, state, hall)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@asynccontextmanager
async def caller_box(
    broker: RunningBroker, state: HubState, tmp_path: Path, pins: MockFactory, *, window: int
) -> AsyncIterator[DeviceAgent]:
    """caller-07 with next/start/finish and two rating buttons on mock pins,
    bound by the admin to `window` (its ``window`` setting in the registry)."""
    device_id = "caller-07"
    config = PortsSettings(
        buttons=GpioButtonsPort(pins=BUTTON_PINS, bounce_s=0.01), led=GpioLedPort(pin=LED_PIN)
    )
    ports = build_ports(("buttons", "led"), config, sim=False, pin_factory=pins)
    settings = device_settings(broker, tmp_path / device_id, device_id, DeviceKind.CALLER)
    agent = make_agent(settings, ports=ports, backoff=Backoff(0.1, 0.5))
    await agent.start()
    try:
        await asyncio.wait_for(agent.wait_online(), 5)
        await eventually(lambda: state.bridge.snapshot(device_id) is not None, what="birth")

        def bind() -> bool:
            with state.sessions() as s:
                done = s.execute(
                    update(Device).where(Device.id == device_id).values(settings={"window": window})
                )
                s.commit()
                return bool(done.rowcount)  # type: ignore[attr-defined]

        await eventually(lambda: bind(), what="the caller in the registry")
        yield agent
    finally:
        await agent.stop()


def press(pins: MockFactory, button: str) -> None:
    pins.pin(LED_PIN).clear_states()
    pin = pins.pin(BUTTON_PINS[button])
    pin.drive_low()
    pin.drive_high()


def lit(pins: MockFactory) -> int:
    """How many times the LED went on since the last press."""
    return sum(1 for p in pins.pin(LED_PIN).states if p.state)
