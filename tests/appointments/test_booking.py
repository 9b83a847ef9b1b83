"""Booking a slot on the phone and checking in at a window, through the HTTP API."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from anxin.settings import AppointmentSettings
from central.appointments.models import Appointment
from central.auth.models import Role
from central.queueing.models import Ticket
from tests.central.conftest import Hub, running_hub
from tests.queueing.hall import MORNING, SHANGHAI, Hall

URL = "/api/v1/appointments"
PHONE = "13812345678"


def at(hour: int, minute: int = 0, days: int = 0) -> str:
    local = MORNING.astimezone(SHANGHAI) + dt.timedelta(days=days)
    return local.replace(hour=hour, minute=minute).isoformat()


def build_hall(hub: Hub) -> Hall:
    hall = Hall(hub.settings, hub.state.engine, hub.state.sessions, bus=hub.state.queue_bus)
    hall.service("social", "S", "社保业务")
    hall.service("tax", "T", "税务业务")
    hall.window(3, {"social": 1.0, "tax": 1.0})
    hall.login(3, hall.clerk("wang", ["social", "tax"]), now=MORNING)
    return hall


@pytest.fixture
async def web(database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(
        database_url=database_url, tmp_path=tmp_path, broker=None, clock_start=MORNING,
        sections={"appointments": AppointmentSettings(capacity=2, days_ahead=3)},
    ) as hub:  # fmt: skip
        await asyncio.to_thread(build_hall, hub)
        hub.state.clock.set(MORNING)
        yield hub


def phone(n: int) -> str:
    return f"1391234{n:04d}"


async def book(client: httpx.AsyncClient, slot: str, **kw: Any) -> httpx.Response:
    body = {"service": "social", "slot_at": slot, "name": "张三丰", "phone": PHONE} | kw
    return await client.post(URL, json=body)


async def test_a_citizen_books_a_slot_and_sees_it_masked(web: Hub) -> None:
    r = await book(web.client, at(11, 30), id_number="610102199001011234")
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body["code"]) == 10
    assert body["service_name"] == "社保业务"
    assert body["slot"] == "12月1日 11:30"
    assert body["state_label"] == "已预约"
    assert body["name"] == "张*丰"
    assert body["phone"] == "138****5678"
    assert body["id_number"] == "6101**********1234"
    again = await web.client.get(f"{URL}/{body['code'].lower()}")
    assert again.json()["phone"] == "138****5678"
    with web.state.sessions() as s:
        row = s.scalars(select(Appointment)).one()
    assert PHONE not in (row.phone_hash + row.phone_encrypted + row.phone_masked)
    page = await web.client.get(f"/book/{body['code']}")
    assert page.status_code == 200
    assert body["code"] in page.text
    assert "<svg" in page.text
    assert PHONE not in page.text
    assert "610102199001011234" not in page.text


async def test_slots_fill_up_and_one_booking_per_phone_per_service_per_day(web: Hub) -> None:
    slot = at(14, 0)
    assert (await book(web.client, slot, phone=phone(1))).status_code == 201
    assert (await book(web.client, slot, phone=phone(2))).status_code == 201
    full = await book(web.client, slot, phone=phone(3))
    assert full.status_code == 409
    assert full.json()["detail"] == "该时段已约满，请选择其他时段"
    slots = (
        await web.client.get(f"{URL}/slots", params={"service": "social", "day": "2026-12-01"})
    ).json()
    left = {s["label"]: s["left"] for s in slots}
    assert left["14:00"] == 0
    assert left["14:30"] == 2
    assert "09:30" not in left, "slots already begun are not offered"

    twice = await book(web.client, at(15, 0), phone=phone(1))
    assert twice.status_code == 409
    assert "请勿重复预约" in twice.json()["detail"]
    # Another service, or another day, is fine.
    assert (await book(web.client, at(15, 0), phone=phone(1), service="tax")).status_code == 201
    assert (await book(web.client, at(15, 0, days=1), phone=phone(1))).status_code == 201


async def test_past_far_future_and_bad_input_are_refused_in_chinese(web: Hub) -> None:
    past = await book(web.client, at(9, 30))
    assert past.status_code == 409
    assert "已开始或已过去" in past.json()["detail"]
    far = await book(web.client, at(10, 0, days=4))
    assert far.status_code == 409
    assert "最多可预约 3 天内" in far.json()["detail"]
    odd = await book(web.client, at(11, 10))
    assert odd.status_code == 422
    assert "时段不正确" in odd.json()["detail"]
    bad_phone = await book(web.client, at(11, 30), phone="12345678901")
    assert bad_phone.status_code == 422
    assert "手机号码格式不正确" in bad_phone.json()["detail"]
    nosuch = await book(web.client, at(11, 30), service="nosuch")
    assert nosuch.status_code == 404


async def test_cancel_then_the_slot_is_free_again(web: Hub) -> None:
    for n in (1, 2):
        assert (await book(web.client, at(16, 0), phone=phone(n))).status_code == 201
    codes = [a.code for a in web.state.sessions().scalars(select(Appointment))]
    r = await web.client.post(f"{URL}/{codes[0]}/cancel")
    assert r.json()["state_label"] == "已取消"
    assert (await book(web.client, at(16, 0), phone=phone(3))).status_code == 201
    # The cancelled phone may book again.
    assert (await book(web.client, at(16, 30), phone=phone(1))).status_code == 201


async def test_check_in_window_once_and_the_ticket_is_an_appointment(web: Hub) -> None:
    soon = (await book(web.client, at(10, 30))).json()["code"]
    later = (await book(web.client, at(13, 0), phone=phone(5))).json()["code"]
    tomorrow = (await book(web.client, at(10, 30, days=1), phone=phone(6))).json()["code"]
    gone = (await book(web.client, at(11, 0), phone=phone(7))).json()["code"]
    await web.client.post(f"{URL}/{gone}/cancel")

    anonymous = await web.client.post(f"{URL}/{soon}/checkin")
    assert anonymous.status_code in (401, 403), "staff only"
    await web.sign_in(Role.CLERK)

    early = await web.client.post(f"{URL}/{later}/checkin")
    assert early.status_code == 409
    assert early.json()["detail"] == "签到时间未到：您预约的是 13:00，请于 12:00 后签到"
    other_day = await web.client.post(f"{URL}/{tomorrow}/checkin")
    assert "请当日前来签到" in other_day.json()["detail"]
    cancelled = await web.client.post(f"{URL}/{gone}/checkin")
    assert "已取消" in cancelled.json()["detail"]

    ok = await web.client.post(f"{URL}/{soon}/checkin")
    assert ok.status_code == 200, ok.text
    ticket = ok.json()
    assert ticket["number"] == "S001"
    assert ticket["priority"] == "appointment"
    assert ticket["appointment_at"].startswith("2026-12-01T02:30")
    again = await web.client.post(f"{URL}/{soon}/checkin")
    assert again.status_code == 409
    assert "已于 10:00 签到，号码 S001" in again.json()["detail"]
    with web.state.sessions() as s:
        stored = s.scalars(select(Ticket)).one()
    assert stored.channel == "appointment"
    assert stored.citizen_masked == "138****5678"
    assert (await web.client.get(f"{URL}/{soon}")).json()["state_label"] == "已签到"
    refused = await web.client.post(f"{URL}/{soon}/cancel")
    assert "不能取消" in refused.json()["detail"]

    # 31 minutes after the slot, it is too late.
    web.state.clock.set(MORNING + dt.timedelta(hours=3, minutes=31))
    late = await web.client.post(f"{URL}/{later}/checkin")
    assert late.json()["detail"] == "已超过签到时间（预约 13:00，13:30 前签到），请重新取号"
