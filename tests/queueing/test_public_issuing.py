"""Taking a ticket on the phone without signing in (/api/v1/public/tickets)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.central.conftest import Hub, running_hub
from tests.queueing.hall import MORNING, Hall

URL = "/api/v1/public/tickets"


def build_hall(hub: Hub) -> Hall:
    hall = Hall(hub.settings, hub.state.engine, hub.state.sessions, bus=hub.state.queue_bus)
    hall.service("social", "S", "社保业务", avg_handling_s=600)
    hall.service("tax", "T", "税务业务", avg_handling_s=300)
    hall.window(3, {"social": 1.0, "tax": 1.0})
    hall.login(3, hall.clerk("wang", ["social", "tax"]))
    hub.state.clock.set(MORNING)  # within the services' hours whenever the test runs
    return hall


async def public_hub(database_url: str, tmp_path: Path, **queue: Any) -> AsyncIterator[Hub]:
    async with running_hub(
        database_url=database_url, tmp_path=tmp_path, broker=None, queue=queue
    ) as hub:
        await asyncio.to_thread(build_hall, hub)
        yield hub


@pytest.fixture
async def web(database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async for hub in public_hub(database_url, tmp_path):
        yield hub


def browser(hub: Hub) -> httpx.AsyncClient:
    """Another phone: same hub, its own cookies."""
    return httpx.AsyncClient(transport=hub.client._transport, base_url="http://hub.test")


async def test_a_citizen_takes_a_ticket_and_opens_its_live_page(web: Hub) -> None:
    r = await web.client.post(URL, json={"service": "social", "matter": "pension_signup"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["number"] == "S001"
    assert body["service"] == "社保业务"
    assert body["ahead"] == 0
    page = await web.client.get(body["citizen_path"])
    assert page.status_code == 200
    assert "S001" in page.text
    # The next citizen has one person ahead.
    async with browser(web) as other:
        second = (await other.post(URL, json={"service": "social"})).json()
    assert second["number"] == "S002"
    assert second["ahead"] == 1


async def test_one_open_ticket_per_service_per_phone_browser(web: Hub) -> None:
    assert (await web.client.post(URL, json={"service": "social"})).status_code == 201
    again = await web.client.post(URL, json={"service": "social"})
    assert again.status_code == 409
    assert "请勿重复取号" in again.json()["detail"]
    # Another service is fine, and so is another phone.
    assert (await web.client.post(URL, json={"service": "tax"})).status_code == 201
    async with browser(web) as other:
        assert (await other.post(URL, json={"service": "social"})).status_code == 201


async def test_a_mobile_number_holds_one_ticket_across_browsers(web: Hub) -> None:
    first = await web.client.post(URL, json={"service": "social", "phone": "13812341234"})
    assert first.status_code == 201
    async with browser(web) as other:
        second = await other.post(URL, json={"service": "social", "phone": "138 1234 1234"})
    assert second.status_code == 409
    bad = await web.client.post(URL, json={"service": "tax", "phone": "12345"})
    assert bad.status_code == 422
    assert "手机号" in bad.json()["detail"]


async def test_a_plain_form_is_sent_to_the_ticket_page_or_told_why_not(web: Hub) -> None:
    r = await web.client.post(URL, data={"service": "social"})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/t/")
    refused = await web.client.post(URL, data={"service": "social"})
    assert refused.status_code == 409
    assert "text/html" in refused.headers["content-type"]
    assert "请勿重复取号" in refused.text
    assert "未能取号" in refused.text


async def test_bad_requests_are_refused_with_a_reason_and_issue_nothing(web: Hub) -> None:
    for payload in ({}, {"service": ""}, {"service": "social", "extra": 1} | {"phone": 5}):
        r = await web.client.post(URL, json=payload)
        assert r.status_code == 422, payload
        assert r.json()["detail"] == "请求内容有误，请返回重试"
    unknown = await web.client.post(URL, json={"service": "nope"})
    assert unknown.status_code == 404
    first = await web.client.post(URL, json={"service": "social"})
    assert first.json()["number"] == "S001"  # nothing was issued before


async def test_the_hall_can_switch_phone_tickets_off(database_url: str, tmp_path: Path) -> None:
    async for hub in public_hub(database_url, tmp_path, public_issuing=False):
        r = await hub.client.post(URL, json={"service": "social"})
        assert r.status_code == 403
        assert "暂未开放手机取号" in r.json()["detail"]


async def test_one_address_cannot_flood_the_queue(database_url: str, tmp_path: Path) -> None:
    async for hub in public_hub(database_url, tmp_path, public_per_address_per_hour=2):
        codes = []
        for _ in range(3):
            async with browser(hub) as phone:
                codes.append((await phone.post(URL, json={"service": "social"})).status_code)
        assert codes == [201, 201, 429]
