"""Kiosk tests: a hub with a hall, and kiosks in this process or in their own."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from anxin.settings import KioskSettings, Settings
from broker.contract import DeviceKind
from broker.session import Backoff
from central.queueing.kiosks import KioskDesk, kiosk_desk
from central.queueing.models import Service, Ticket
from edge.agent import DeviceAgent
from edge.kinds.kiosk import Kiosk, ticket_source
from edge.runner import make_agent
from tests.central.conftest import Hub, running_hub
from tests.conftest import RunningBroker
from tests.edge.support import device_settings
from tests.queueing.hall import MORNING, Hall

REPO = Path(__file__).resolve().parents[2]


def kiosk_settings(**kw: Any) -> KioskSettings:
    return KioskSettings(**({"offline_block": 5, "replenish_s": 0.3} | kw))


@asynccontextmanager
async def kiosk_hub(
    *,
    database_url: str,
    tmp_path: Path,
    broker: RunningBroker,
    at: dt.datetime = MORNING,
    kiosk: KioskSettings | None = None,
) -> AsyncIterator[Hub]:
    """A running hub (app + bridge) whose clock reads `at`."""
    async with running_hub(
        database_url=database_url, tmp_path=tmp_path, broker=broker, clock_start=at,
        sections={"kiosk": kiosk or kiosk_settings()},
    ) as hub:  # fmt: skip
        yield hub


def desk(hub: Hub) -> KioskDesk:
    return kiosk_desk(hub.app)


def hall_of(hub: Hub) -> Hall:
    """The hub's database as a `Hall` for set-up (its own bus; the hub's clock)."""
    return Hall(hub.settings, hub.state.engine, hub.state.sessions, now=hub.state.clock.now())


def build_hall(hub: Hub) -> Hall:
    """综合受理 (A, window 1 with a clerk), 社保 (B), and 夜间 (C, closed at 10:00)."""
    hall = hall_of(hub)
    hall.service("general", "A", "综合受理")
    hall.service("social", "B", "社保业务")
    hall.service("night", "C", "夜间业务", opens_at=dt.time(18, 0), closes_at=dt.time(21, 0))
    hall.window(1, {"general": 1.0, "social": 1.0})
    clerk = hall.clerk("wangfang", ["general", "social"])
    hall.login(1, clerk, now=hub.state.clock.now())
    return hall


async def start_kiosk(
    broker: RunningBroker, tmp_path: Path, device_id: str = "kiosk-01", **kiosk: Any
) -> tuple[DeviceAgent, Kiosk]:
    settings = device_settings(broker, tmp_path, device_id, DeviceKind.KIOSK)
    settings = settings.model_copy(
        update={"kiosk": KioskSettings(**({"request_timeout_s": 2.0} | kiosk))}
    )
    agent = make_agent(settings, backoff=Backoff(0.1, 0.5))
    await agent.start()
    await asyncio.wait_for(agent.wait_online(), 10)
    return agent, ticket_source(device_id)


async def stop_kiosk(agent: DeviceAgent, kiosk: Kiosk) -> None:
    await agent.stop()
    kiosk.close()


async def wait_for(check: Any, *, within: float = 10.0, what: str = "") -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what or check}")
        await asyncio.sleep(0.05)


def tickets(hub: Hub) -> list[Ticket]:
    with hub.state.sessions() as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


def service_codes(hub: Hub) -> dict[int, str]:
    with hub.state.sessions() as s:
        return {sid: code for sid, code in s.execute(select(Service.id, Service.code))}


def kiosk_env(broker: RunningBroker, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of ``anxin device kiosk --sim`` in a process of its own."""
    return os.environ | {
        "PYTHONPATH": str(REPO),
        "ANXIN_HALL": broker.hall,
        "ANXIN_DATA_DIR": str(data_dir),
        "ANXIN_MQTT__HOST": broker.host,
        "ANXIN_MQTT__PORT": str(broker.port),
        "ANXIN_MQTT__KEEPALIVE_S": "2",
        "ANXIN_HUB__SECRET_KEY": broker.secret,
        "ANXIN_DEVICE__HEARTBEAT_S": "0.5",
        "ANXIN_DEVICE__RESEND_S": "0.5",
        "ANXIN_LOG_LEVEL": os.environ.get("KIOSK_TEST_LOG", "WARNING"),
        **extra,
        **({"PYTHONASYNCIODEBUG": "1"} if os.environ.get("KIOSK_TEST_LOG") else {}),
    }


async def spawn_kiosk(env: dict[str, str], device_id: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "anxin", "device", "kiosk", "--id", device_id, "--sim",
        cwd=REPO, env=env,
    )  # fmt: skip


def settings_for(hub: Hub) -> Settings:
    return hub.settings
