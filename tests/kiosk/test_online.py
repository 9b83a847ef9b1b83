"""A kiosk takes tickets through the broker and the hub; refusals arrive in Chinese."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from broker.contract import DeviceKind, TicketRequest, Topics, encode, new_id
from central.queueing.models import Channel, KioskBlock, KioskRequest
from edge.kinds.kiosk_api import TicketRefused
from tests.conftest import RunningBroker
from tests.kiosk.support import (
    build_hall,
    desk,
    kiosk_hub,
    start_kiosk,
    stop_kiosk,
    tickets,
    wait_for,
)

pytestmark = pytest.mark.timeout(90)


async def test_a_tap_gets_a_ticket_through_broker_and_hub(
    mqtt_broker: RunningBroker, database_url: str, tmp_path: Path
) -> None:
    async with kiosk_hub(database_url=database_url, tmp_path=tmp_path, broker=mqtt_broker) as hub:
        build_hall(hub)
        agent, kiosk = await start_kiosk(mqtt_broker, tmp_path)
        try:
            await wait_for(lambda: kiosk.online, what="the kiosk sees the hub")
            first = await kiosk.take("general", matter="yyzz-slbg")
            second = await kiosk.take("general")
            assert not first.offline
            assert first.number.startswith("A")
            assert first.service == "general"
            assert first.service_name == "综合受理"
            assert first.issued_at.tzinfo is not None
            assert first.citizen_url.startswith("http")
            assert "/t/" in first.citizen_url
            assert second.ahead == first.ahead + 1 if first.ahead is not None else True
            stored = {t.number: t for t in tickets(hub)}
            assert stored[first.number].channel == Channel.KIOSK.value
            assert first.citizen_url.endswith(stored[first.number].token)
            with hub.state.sessions() as s:
                matters = s.scalars(select(KioskRequest.matter)).all()
            assert "yyzz-slbg" in matters

            # The citizen page behind the QR code answers.
            path = first.citizen_url[first.citizen_url.index("/t/") :]
            assert (await hub.client.get(path)).status_code == 200

            green = await kiosk.take("social", priority="green", priority_reason="elderly")
            assert green.priority == "green"
            assert green.number.startswith("B")
        finally:
            await stop_kiosk(agent, kiosk)


async def test_refusals_arrive_in_chinese_and_the_per_person_limit_holds(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> None:
    async with kiosk_hub(database_url=database_url, tmp_path=tmp_path, broker=mosquitto) as hub:
        build_hall(hub)
        agent, kiosk = await start_kiosk(mosquitto, tmp_path)
        try:
            await wait_for(lambda: kiosk.online, what="the kiosk sees the hub")
            with pytest.raises(TicketRefused, match="不在办理时间内"):
                await kiosk.take("night")
            with pytest.raises(TicketRefused, match="没有业务"):
                await kiosk.take("nosuch")
            with pytest.raises(TicketRefused, match="原因"):
                await kiosk.take("general", priority="green")

            mine = await kiosk.take("general", citizen_id="610102199001011234")
            with pytest.raises(TicketRefused, match=f"有效号码 {mine.number}"):
                await kiosk.take("general", citizen_id="610102199001011234")
            other = await kiosk.take("social", citizen_id="610102199001011234")
            assert other.number.startswith("B")
            phone = await kiosk.take("general", citizen_id="13800138000")
            with pytest.raises(TicketRefused, match="请勿重复取号"):
                await kiosk.take("general", citizen_id="138 0013 8000")
            with pytest.raises(TicketRefused, match="格式不正确"):
                await kiosk.take("general", citizen_id="12345")
            assert kiosk.online, "refusals are answers: the kiosk stays online"
            masked = {t.number: t.citizen_masked for t in tickets(hub)}
            assert masked[phone.number] == "138****8000"
        finally:
            await stop_kiosk(agent, kiosk)


async def test_blocks_are_reserved_and_online_numbers_skip_them(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> None:
    async with kiosk_hub(database_url=database_url, tmp_path=tmp_path, broker=mosquitto) as hub:
        build_hall(hub)
        agent, kiosk = await start_kiosk(mosquitto, tmp_path)
        try:
            await desk(hub).replenish("kiosk-01")
            today = await wait_for(lambda: kiosk.today(), what="the catalogue")
            await wait_for(
                lambda: kiosk.journal.unused("general", today) >= 5, what="blocks at the kiosk"
            )
            with hub.state.sessions() as s:
                blocks = s.scalars(select(KioskBlock)).all()
            reserved = {
                (b.service_id, b.day, n) for b in blocks for n in range(b.first_seq, b.last_seq + 1)
            }
            assert reserved, "blocks of every service, today and tomorrow"
            assert {b.day.isoformat() for b in blocks} >= {today}
            for _ in range(8):
                await kiosk.take("general")
            online = [t for t in tickets(hub) if t.channel == Channel.KIOSK.value]
            assert online
            assert not {(t.service_id, t.day, t.seq) for t in online} & reserved
            assert {s.code for s in kiosk.services()} == {"general", "social", "night"}
        finally:
            await stop_kiosk(agent, kiosk)


async def test_malformed_requests_are_rejected_and_break_nothing(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with kiosk_hub(database_url=database_url, tmp_path=tmp_path, broker=mosquitto) as hub:
        build_hall(hub)
        agent, kiosk = await start_kiosk(mosquitto, tmp_path)
        try:
            await wait_for(lambda: kiosk.online, what="the kiosk sees the hub")
            topics = Topics(mosquitto.hall)
            topic = topics.ticket_request("kiosk-01")
            for raw in (
                b"not json",
                b'{"v": 1}',
                b'{"v": 2, "request_id": "abcdefgh1", "service": "general"}',
                b'{"v": 1, "request_id": "abcdefgh1", "service": "../../x"}',
                b'{"v": 1, "request_id": "abcdefgh1", "service": "general", "priority": "vip"}',
                b"x" * 70_000,
            ):
                assert agent.send(topic, raw, qos=1)
            # A malformed offline ticket and a void without an id come by the outbox.
            agent.emit("ticket_offline", {"service": "general", "seq": "many"})
            agent.emit("ticket_void", {"request_id": 7})
            agent.emit("ticket_offline", {"service": "general", "day": "2026-12-01", "seq": 999,
                                          "number": "A999", "token": "t" * 22,
                                          "issued_at": "2026-12-01T02:00:00+00:00"})  # fmt: skip
            await wait_for(lambda: agent.outbox.depth() == 0, what="events acknowledged")
            await desk(hub).idle()
            rejected = sum(
                sample.value
                for metric in hub.state.metrics.registry.collect()
                if metric.name == "anxin_hub_mqtt_messages_rejected"
                for sample in metric.samples
                if sample.name.endswith("_total")
            )
            assert rejected >= 6
            assert any("rejected MQTT message" in r.message for r in caplog.records)
            assert any("malformed offline ticket" in r.message for r in caplog.records)
            assert any("not in a block" in r.message for r in caplog.records)
            ticket = await kiosk.take("general")
            assert not ticket.offline, "the hub still answers"
            assert [t.number for t in tickets(hub)] == [ticket.number]
        finally:
            await stop_kiosk(agent, kiosk)


async def test_a_device_asks_only_for_itself_and_a_caller_gets_no_ticket(
    embedded_broker: RunningBroker, database_url: str, tmp_path: Path
) -> None:
    """The embedded broker applies the contract's ACL: kiosk-02's topics are not
    kiosk-01's to write or read; a caller device asking is refused by the hub."""
    async with kiosk_hub(
        database_url=database_url, tmp_path=tmp_path, broker=embedded_broker
    ) as hub:
        build_hall(hub)
        agent, kiosk = await start_kiosk(embedded_broker, tmp_path)
        caller = await hub.device("caller-01", kind=DeviceKind.CALLER)
        try:
            await wait_for(lambda: kiosk.online, what="the kiosk sees the hub")
            request = TicketRequest(request_id=new_id(), service="general")
            topics = Topics(embedded_broker.hall)
            agent.send(topics.ticket_request("kiosk-02"), encode(request), qos=1)
            await asyncio.sleep(0.5)
            await desk(hub).idle()
            assert tickets(hub) == [], "a request on another kiosk's topic is dropped"

            await wait_for(lambda: hub.state.bridge.snapshot("caller-01"), what="caller known")
            caller.session.publish(topics.ticket_request("caller-01"), encode(request), qos=1)
            await asyncio.sleep(0.5)
            await desk(hub).idle()
            assert tickets(hub) == [], "a caller gets no ticket"
            ticket = await kiosk.take("general")
            assert [t.number for t in tickets(hub)] == [ticket.number]
        finally:
            await stop_kiosk(agent, kiosk)
