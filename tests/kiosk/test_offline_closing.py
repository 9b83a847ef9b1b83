"""The offline closing-time rule: a kiosk cut from the hub stops issuing a
service when the forecast wait passes its closing time, as the hub would.

The kiosk agent is real but never connects; the hub's messages (number
blocks with the hub's clock, the retained ``hall/queue`` figures) reach it
through the agent's own inbound path, as the broker would hand them over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from anxin.settings import DeviceSettings, Settings
from broker.contract import (
    DeviceKind,
    HallQueue,
    KioskBlocks,
    KioskService,
    NumberBlock,
    Payload,
    encode,
)
from central.queueing.kiosks import _kiosk_service
from central.queueing.models import Service
from edge.agent import DeviceAgent
from edge.kinds import kiosk as kiosk_kind
from edge.kinds.kiosk import Kiosk, ticket_source
from edge.kinds.kiosk_api import TicketRefused
from edge.runner import make_agent

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 26)
STOPPED = "今日该业务已停止取号：预计等候将超过下班时间"  # the hub's words (issuing.py)


def at(hhmm: str, seconds: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time.fromisoformat(hhmm), TZ) + dt.timedelta(seconds=seconds)


def service(code: str, prefix: str, avg: int | None) -> KioskService:
    return KioskService(
        code=code, name=f"{code}业务", prefix=prefix, width=3,
        opens_at="08:30", closes_at="17:00", avg_handling_s=avg,
    )  # fmt: skip


SERVICES = (service("general", "A", 600), service("social", "B", 600), service("old", "C", None))


class Hall:
    """The hub's side of the conversation, as messages to one kiosk."""

    def __init__(self, agent: DeviceAgent, kiosk: Kiosk) -> None:
        self.agent = agent
        self.kiosk = kiosk

    async def deliver(self, topic: str, payload: Payload, *, retained: bool) -> None:
        await self.agent._on_message(topic, encode(payload), retained)

    async def clock(self, now: dt.datetime) -> None:
        """Number blocks published live (not retained): they carry the hub's clock."""
        blocks = KioskBlocks(
            services=SERVICES,
            blocks=tuple(NumberBlock(service=s.code, day=DAY.isoformat(), first=1, last=50)
                         for s in SERVICES),
            timezone="Asia/Shanghai", day_rollover="03:00",
            citizen_base_url="http://hub.example", hub_time=now,
        )  # fmt: skip
        await self.deliver(self.agent.topics.blocks(self.agent.device_id), blocks, retained=False)

    async def queue(self, code: str, *, waiting: int, windows: int, minutes: int | None) -> None:
        figures = HallQueue(
            service=code, name=f"{code}业务", prefix="A", waiting=waiting,
            open_windows=windows, estimated_wait_min=minutes,
        )  # fmt: skip
        await self.deliver(self.agent.topics.hall_queue(code), figures, retained=True)

    async def take_until_refused(self, code: str, limit: int = 60) -> tuple[int, str]:
        """Tickets issued before the first refusal, and its reason."""
        for issued in range(limit):
            try:
                ticket = await self.kiosk.take(code)
            except TicketRefused as refused:
                return issued, refused.reason
            assert ticket.offline
        raise AssertionError(f"{limit} tickets and no refusal")


@pytest.fixture
async def hall(tmp_path: Path) -> AsyncIterator[Hall]:
    settings = Settings(
        hall="closing",
        data_dir=tmp_path,
        device=DeviceSettings(id="kiosk-07", kind=DeviceKind.KIOSK, sim=True),
    )
    agent = make_agent(settings)  # built, never started: the hub is out of reach
    kiosk_kind.setup(agent)
    kiosk = ticket_source("kiosk-07")
    assert not kiosk.online
    yield Hall(agent, kiosk)
    kiosk.close()


async def test_without_hall_state_only_the_closing_hour_stops_issuing(hall: Hall) -> None:
    await hall.clock(at("16:58"))
    assert (await hall.kiosk.take("general")).number == "A001"
    await hall.clock(at("17:00", 1))
    with pytest.raises(TicketRefused, match="不在办理时间内"):
        await hall.kiosk.take("general")


async def test_each_offline_ticket_pushes_the_forecast_until_it_passes_closing(
    hall: Hall,
) -> None:
    await hall.clock(at("15:59", 30))
    # the hub's last word: 30 minutes for a ticket taken now, two windows open
    await hall.queue("general", waiting=5, windows=2, minutes=30)
    issued, reason = await hall.take_until_refused("general")
    # 30 min + 5 min (600 s over 2 windows) per ticket: the 7th is forecast
    # for 16:59:30, the 8th would be 17:04:30
    assert issued == 7
    assert reason == STOPPED
    assert [t.number for t in hall.kiosk.journal.tickets(DAY.isoformat())][-1] == "A007"
    # another service, with its own figures, still issues
    await hall.queue("social", waiting=0, windows=1, minutes=0)
    assert (await hall.kiosk.take("social")).number == "B001"


async def test_fresh_hub_figures_replace_the_kiosks_own_count(hall: Hall) -> None:
    await hall.clock(at("16:30", 30))
    await hall.queue("general", waiting=2, windows=1, minutes=20)
    assert await hall.take_until_refused("general") == (1, STOPPED)  # 20 + 10 min, then 30 + 10
    # the hub is heard again: it has the offline ticket and windows served people
    await hall.queue("general", waiting=1, windows=1, minutes=5)
    assert (await hall.kiosk.take("general")).number == "A002"


async def test_no_window_open_counts_everyone_waiting_at_the_default_handling_time(
    hall: Hall,
) -> None:
    # "old": a catalogue from a hub that did not send avg_handling_s → 600 s;
    # no open window: no estimate, the waiting count at the handling time
    await hall.clock(at("16:14", 30))
    await hall.queue("old", waiting=4, windows=0, minutes=None)
    assert await hall.take_until_refused("old") == (1, STOPPED)  # 40 min, then 50
    assert hall.kiosk.offline_forecast_s(SERVICES[2], DAY) == 50 * 60


async def test_closing_rule_refusal_leaves_no_ticket_behind(hall: Hall) -> None:
    await hall.clock(at("16:45"))
    await hall.queue("general", waiting=9, windows=3, minutes=20)
    with pytest.raises(TicketRefused) as refused:
        await hall.kiosk.take("general")
    assert refused.value.reason == STOPPED
    assert hall.kiosk.journal.tickets() == []
    assert hall.kiosk.journal.unused("general", DAY.isoformat()) == 50


def test_the_hub_sends_each_services_average_handling_time() -> None:
    row: Any = Service(
        code="general", name="综合受理", prefix="A", number_end=999,
        opens_at=dt.time(8, 30), closes_at=dt.time(17, 0), avg_handling_s=480,
    )  # fmt: skip
    assert _kiosk_service(row, None).avg_handling_s == 480
