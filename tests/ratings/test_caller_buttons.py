"""The caller box's five rating buttons, pressed on gpiozero mock pins, through
Mosquitto to the hub and back to the box's LED and screen text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]
from sqlalchemy import select

from central.devices.models import DeviceCommand
from central.ratings.models import Rating
from tests.central.conftest import Hub, running_hub
from tests.central.fakes import eventually
from tests.conftest import RunningBroker
from tests.queueing.hall import Hall
from tests.workstation.support import MORNING, caller_box, hall_of, lit, press


@pytest.fixture
async def hub_hall(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Hub, Hall]]:
    async with running_hub(
        database_url=database_url, tmp_path=tmp_path, broker=mosquitto, clock_start=MORNING
    ) as hub:
        hall = await asyncio.to_thread(hall_of, hub)
        await asyncio.to_thread(hall.login, 1, hall.clerk("wangfang", ["general", "estate"]))
        yield hub, hall


async def feedback(hub: Hub, count: int) -> list[dict[str, Any]]:
    """The caller's answers to the hub's feedback commands, oldest first."""

    def rows() -> list[DeviceCommand]:
        with hub.state.sessions() as s:
            query = (
                select(DeviceCommand)
                .where(DeviceCommand.name == "feedback", DeviceCommand.status == "succeeded")
                .order_by(DeviceCommand.issued_at)
            )
            return list(s.scalars(query))

    await eventually(lambda: len(rows()) >= count, what=f"{count} feedback results")
    return [{**r.args, "shown": r.data.get("shown")} for r in rows()]


async def test_a_citizen_rates_with_the_caller_buttons(
    hub_hall: tuple[Hub, Hall],
    mosquitto: RunningBroker,
    pins: MockFactory,
    tmp_path: Path,
) -> None:
    hub, hall = hub_hall
    async with caller_box(mosquitto, hub.state, tmp_path, pins, window=1):
        await asyncio.to_thread(hall.issue, "general")
        press(pins, "next")  # calls A001
        assert (await feedback(hub, 1))[-1]["ticket"] == "A001"

        # Still being served: nothing to rate, and the box says so.
        press(pins, "rate_5")
        early = (await feedback(hub, 2))[-1]
        assert early["ok"] is False
        assert early["shown"] == "未评价：1 号窗口当前没有待评价的办件（办结后 10 分钟内可评价）"
        await asyncio.sleep(1.2)
        assert lit(pins) == 4  # fast blinks: refused

        press(pins, "next")  # finishes A001; nobody else waits
        await feedback(hub, 3)
        await asyncio.sleep(1.2)
        press(pins, "rate_1")
        rated = (await feedback(hub, 4))[-1]
        assert (rated["ok"], rated["ticket"], rated["shown"]) == (True, "A001", "感谢您的评价")
        await asyncio.sleep(1.3)
        assert lit(pins) == 1  # one long light: accepted

        press(pins, "rate_5")
        twice = (await feedback(hub, 5))[-1]
        assert twice["shown"] == "未评价：该号码已评价，每个号码只能评价一次"

    def ratings() -> list[Rating]:
        with hub.state.sessions() as s:
            return list(s.scalars(select(Rating)))

    (rating,) = await asyncio.to_thread(ratings)
    assert (rating.ticket_number, rating.level, rating.reasons) == ("A001", 1, ["unspecified_pad"])
    assert (rating.channel, rating.device_id) == ("caller", "caller-07")
