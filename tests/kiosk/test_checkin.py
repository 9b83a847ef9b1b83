"""A kiosk checks an appointment in through real Mosquitto and the hub, and a
new kiosk gets its offline blocks as soon as the hub sees its birth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from anxin.settings import KioskSettings
from central.appointments.models import Appointment
from central.queueing.models import Channel, KioskBlock, Ticket
from edge.kinds.kiosk_api import TicketRefused
from tests.conftest import RunningBroker
from tests.kiosk.support import build_hall, kiosk_hub, start_kiosk, stop_kiosk, wait_for
from tests.queueing.hall import MORNING, SHANGHAI

pytestmark = pytest.mark.timeout(90)


def slot(hour: int, minute: int = 0) -> str:
    return MORNING.astimezone(SHANGHAI).replace(hour=hour, minute=minute).isoformat()


async def test_a_scanned_booking_becomes_an_appointment_ticket_once(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> None:
    async with kiosk_hub(database_url=database_url, tmp_path=tmp_path, broker=mosquitto) as hub:
        build_hall(hub)
        codes = []
        for hour, phone in ((10, "13800000001"), (12, "13800000002")):
            r = await hub.client.post(
                "/api/v1/appointments",
                json={"service": "general", "slot_at": slot(hour, 30), "name": "李四",
                      "phone": phone},
            )  # fmt: skip
            assert r.status_code == 201, r.text
            codes.append(r.json()["code"])
        soon, later = codes
        agent, kiosk = await start_kiosk(mosquitto, tmp_path)
        try:
            await wait_for(lambda: kiosk.online, what="the kiosk sees the hub")
            ticket = await kiosk.check_in(soon)
            assert ticket.number.startswith("A")
            assert ticket.priority == "appointment"
            assert ticket.service_name == "综合受理"
            assert not ticket.offline
            assert "/t/" in ticket.citizen_url

            with pytest.raises(TicketRefused, match=f"已于 10:00 签到，号码 {ticket.number}"):
                await kiosk.check_in(soon)
            with pytest.raises(TicketRefused, match="签到时间未到"):
                await kiosk.check_in(later)
            with pytest.raises(TicketRefused, match="没有找到该预约"):
                await kiosk.check_in("ABCDEFGH23")
            assert kiosk.online, "refusals are answers"

            with hub.state.sessions() as s:
                stored = s.scalars(select(Ticket)).one()
                booking = s.scalar(select(Appointment).where(Appointment.code == soon))
            assert stored.number == ticket.number
            assert stored.channel == Channel.APPOINTMENT.value
            assert stored.priority == "appointment"
            assert stored.appointment_at == dt.datetime.fromisoformat(slot(10, 30))
            assert booking is not None
            assert booking.ticket_id == stored.id
            assert booking.checked_in_by == "kiosk:kiosk-01"
        finally:
            await stop_kiosk(agent, kiosk)


async def test_check_in_needs_the_hub_and_says_so(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> None:
    async with kiosk_hub(database_url=database_url, tmp_path=tmp_path, broker=mosquitto) as hub:
        build_hall(hub)
        agent, kiosk = await start_kiosk(mosquitto, tmp_path)
        try:
            await wait_for(lambda: kiosk.online, what="the kiosk sees the hub")
        finally:
            await stop_kiosk(agent, kiosk)
        # The agent stopped: the kiosk is offline and says check-in needs the network.
        with pytest.raises(TicketRefused, match="网络中断，暂时无法预约签到"):
            await kiosk.check_in("ABCDEFGH23")


async def test_a_new_kiosk_gets_blocks_at_its_birth_not_at_the_next_round(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> None:
    slow_rounds = KioskSettings(offline_block=5, replenish_s=600)
    async with kiosk_hub(
        database_url=database_url, tmp_path=tmp_path, broker=mosquitto, kiosk=slow_rounds
    ) as hub:
        build_hall(hub)
        agent, kiosk = await start_kiosk(mosquitto, tmp_path, "kiosk-07")
        try:
            today = await wait_for(lambda: kiosk.today(), within=5, what="the first blocks")
            await wait_for(
                lambda: kiosk.journal.unused("general", today) >= 5,
                within=5,
                what="offline numbers at the new kiosk before any request",
            )
            with hub.state.sessions() as s:
                owners = set(s.scalars(select(KioskBlock.device_id)))
            assert owners == {"kiosk-07"}
        finally:
            await stop_kiosk(agent, kiosk)
