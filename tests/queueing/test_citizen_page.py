"""办事一码通: the page behind the ticket's QR code, and the masking helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from central.db import upgrade_database
from central.queueing.notify import ContactCipher, store_contact
from central.queueing.privacy import is_mobile, mask_id_number, mask_name, mask_phone
from central.server import run_hub
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.central.conftest import Hub, hub_settings, running_hub
from tests.conftest import RunningBroker
from tests.queueing.hall import Hall, make_hall

PHONE = "13812341234"


# --- masking ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("张小三", "张*三"), ("欧阳娜娜", "欧**娜"), ("李", "李"), ("", "")],
)
def test_names_keep_only_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+86 138-1234-1234", "138****1234"),
        ("88001234", "******34"),
    ],
)
def test_phone_numbers_keep_first_three_and_last_four_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_id_numbers_keep_first_and_last_four() -> None:
    assert mask_id_number("61010219900101123x") == "6101**********123X"
    assert is_mobile("+86 13812341234")
    assert not is_mobile("02988881234")


# --- the page over HTTP ---------------------------------------------------------------


@pytest.fixture
async def web(database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    """The hub's pages without a broker, on each database."""
    async with running_hub(database_url=database_url, tmp_path=tmp_path, broker=None) as hub:
        yield hub


def _hall_of(web: Hub) -> Hall:
    state = web.state
    hall = Hall(web.settings, state.engine, state.sessions, bus=state.queue_bus)
    hall.service("estate", "B", "不动产登记", avg_handling_s=600)
    hall.window(5, {"estate": 1.0})
    hall.login(5, hall.clerk("wangfang", ["estate"]))
    return hall


async def test_waiting_citizen_sees_position_wait_and_masked_identity(web: Hub) -> None:
    hall = await asyncio.to_thread(_hall_of, web)
    await asyncio.to_thread(hall.issue, "estate")
    ticket = await asyncio.to_thread(
        hall.issue, "estate", citizen_name="张小三", citizen_id="610102199001011234"
    )
    cipher = ContactCipher.from_settings(web.settings)
    hall.db(lambda s: store_contact(s, ticket=s.merge(ticket), phone=PHONE, cipher=cipher))

    response = await web.client.get(f"/t/{ticket.token}")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    html = response.text
    for text in (
        ticket.number,
        "不动产登记",
        "等候中",
        "前面还有",
        "预计等候",
        "张*三",
        "138****1234",
    ):
        assert text in html, text
    assert "张小三" not in html
    assert PHONE not in html
    assert "199001011234" not in html
    assert f'hx-get="/t/{ticket.token}/status"' in html


async def test_called_citizen_is_sent_to_the_window_and_polling_stops_when_done(web: Hub) -> None:
    hall = await asyncio.to_thread(_hall_of, web)
    ticket = await asyncio.to_thread(hall.issue, "estate")
    await asyncio.to_thread(hall.next, 5)

    called = (await web.client.get(f"/t/{ticket.token}/status")).text
    assert "已叫号，请到 5 号窗口" in called
    assert "hx-trigger" in called

    await asyncio.to_thread(hall.start, 5)
    await asyncio.to_thread(hall.finish, 5)
    done = (await web.client.get(f"/t/{ticket.token}/status")).text
    assert "已完成" in done
    assert "办理完成" in done
    assert "hx-trigger" not in done


async def test_the_same_code_follows_a_transfer_with_both_tickets_and_the_first_phone(
    web: Hub,
) -> None:
    hall = await asyncio.to_thread(_hall_of, web)
    hall.service("tax", "C", "税务")
    hall.window(6, {"tax": 1.0})
    ticket = await asyncio.to_thread(hall.issue, "estate")
    cipher = ContactCipher.from_settings(web.settings)
    hall.db(lambda s: store_contact(s, ticket=s.merge(ticket), phone=PHONE, cipher=cipher))
    await asyncio.to_thread(hall.next, 5)
    await asyncio.to_thread(hall.start, 5)
    moved = await asyncio.to_thread(
        hall.verb, "transfer", 5, to_service="tax", reason="additional_service", return_after=False
    )
    assert moved.follow_up is not None
    new_number = moved.follow_up.number

    html = (await web.client.get(f"/t/{ticket.token}/status")).text

    assert f"由 {ticket.number} 号转入" in html  # the page now shows the new ticket
    assert new_number in html
    assert "税务" in html
    assert "等候中" in html
    assert f"{ticket.number} 叫号，请到 5 号窗口" in html  # the first ticket's steps too
    assert "转至其他业务" in html
    assert "138****1234" in html  # the phone stayed with the first ticket
    assert PHONE not in html


async def test_unknown_code_gets_a_friendly_page_in_chinese(web: Hub) -> None:
    response = await web.client.get("/t/not-a-real-token-at-all")
    assert response.status_code == 404
    assert "未找到您的号码" in response.text


# --- in Chromium on a phone ----------------------------------------------------------------


@pytest.fixture
async def live_hub(mosquitto: RunningBroker, tmp_path: Path) -> AsyncIterator[tuple[str, Hall]]:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    settings = hub_settings(database_url=url, tmp_path=tmp_path, broker=mosquitto, port=0)
    upgrade_database(settings)
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_hub(settings, ready=ready.set_result))
    try:
        base = await asyncio.wait_for(ready, 15)
        with make_hall(url, tmp_path) as hall:
            yield base, hall
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.browser
@needs_chromium
async def test_the_citizen_page_on_a_phone_updates_when_the_ticket_is_called(
    live_hub: tuple[str, Hall],
) -> None:
    base, hall = live_hub

    def setup() -> str:
        hall.service("estate", "B", "不动产登记", avg_handling_s=600)
        hall.window(5, {"estate": 1.0})
        hall.login(5, hall.clerk("wangfang", ["estate"]))
        for _ in range(3):
            hall.issue("estate")
        ticket = hall.issue("estate", citizen_name="张小三", citizen_id=PHONE)
        hall.next(5)
        return ticket.token

    token = await asyncio.to_thread(setup)
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            await page.goto(f"{base}/t/{token}")
            await expect(page.get_by_test_id("headline")).to_have_text("等候中")
            await expect(page.get_by_test_id("ahead")).to_have_text("2")
            await page.screenshot(path=str(ARTIFACTS / "citizen-waiting.png"), full_page=True)

            for _ in range(3):  # the three ahead are served, then it is our turn
                await asyncio.to_thread(hall.start, 5)
                await asyncio.to_thread(hall.finish, 5)
                await asyncio.to_thread(hall.next, 5)
            await expect(page.get_by_test_id("headline")).to_have_text(
                "已叫号，请到 5 号窗口", timeout=10_000
            )
            await page.screenshot(path=str(ARTIFACTS / "citizen-called.png"), full_page=True)

            await page.goto(f"{base}/t/no-such-ticket-code")
            await expect(page.get_by_text("未找到您的号码")).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "citizen-not-found.png"))
        finally:
            await browser.close()
