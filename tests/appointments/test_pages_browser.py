"""In headless Chromium: a citizen books on the phone page, sees the QR code,
and staff see the booking (masked) on 预约管理 and check it in.
Screenshots: test-artifacts/appointment-*.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from central.auth.models import Role
from central.auth.service import create_user
from central.db import database_url, make_engine, make_sessionmaker, upgrade_database
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, needs_chromium, signed_in_page
from tests.central.conftest import PASSWORD, hub_settings, serving_hub
from tests.conftest import RunningBroker
from tests.queueing.hall import MORNING, Hall

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.timeout(120)]


@pytest.fixture
async def hub_url(mosquitto: RunningBroker, tmp_path: Path) -> AsyncIterator[str]:
    settings = hub_settings(
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path=tmp_path,
        broker=mosquitto, port=0, clock_start=MORNING,
    )  # fmt: skip
    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    sessions = make_sessionmaker(engine)
    hall = Hall(settings, engine, sessions)
    hall.service("social", "S", "社保业务")
    hall.service("tax", "T", "税务业务")
    hall.window(3, {"social": 1.0, "tax": 1.0})
    with sessions() as session:
        create_user(session, username="zhangwei", role=Role.ADMIN, password=PASSWORD)
        session.commit()
    engine.dispose()
    async with serving_hub(settings) as url:
        yield url


async def test_a_citizen_books_on_the_phone_and_staff_check_the_booking_in(hub_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            phone = await browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            await phone.goto(f"{hub_url}/book")
            await phone.get_by_label("办理业务").select_option(label="社保业务")
            await phone.get_by_role("button", name="查看可约时段").click()
            await expect(
                phone.get_by_role("heading", name="2. 社保业务 · 选择时段并填写信息")
            ).to_be_visible()
            await phone.get_by_label("10:30").check()
            await phone.get_by_label("姓名").fill("张三丰")
            await phone.get_by_label("手机号码").fill("13812345678")
            await phone.screenshot(path=str(ARTIFACTS / "appointment-book.png"), full_page=True)
            await phone.get_by_role("button", name="确认预约").click()
            await expect(phone.locator(".c-headline")).to_have_text("已预约")
            code = (await phone.locator("#code").inner_text()).strip()
            assert len(code) == 10
            await expect(phone.locator("svg")).to_be_visible()
            body = await phone.locator("main").inner_text()
            assert "138****5678" in body
            assert "张*丰" in body
            assert "13812345678" not in body
            await phone.screenshot(path=str(ARTIFACTS / "appointment-confirmation.png"),
                                   full_page=True)  # fmt: skip

            # The same phone cannot book the same service twice that day.
            await phone.goto(f"{hub_url}/book?service=social&day=2026-12-01")
            await phone.get_by_label("11:00").check()
            await phone.get_by_label("姓名").fill("张三丰")
            await phone.get_by_label("手机号码").fill("13812345678")
            await phone.get_by_role("button", name="确认预约").click()
            await expect(phone.get_by_role("alert")).to_contain_text("请勿重复预约")
        finally:
            await browser.close()

    async with signed_in_page(hub_url, "zhangwei", PASSWORD, width=1280, height=700) as page:
        await page.goto(f"{hub_url}/appointments")
        await expect(page.get_by_role("heading", name="预约管理")).to_be_visible()
        row = page.locator(f"#appt-{code}")
        await expect(row).to_contain_text("10:30")
        await expect(row).to_contain_text("138****5678")
        await row.get_by_role("button", name="签到取号").click()
        await expect(page.locator("#flash")).to_contain_text(f"预约 {code} 已签到，号码 S001")
        await expect(page.locator(f"#appt-{code}")).to_contain_text("已签到")
        await page.screenshot(path=str(ARTIFACTS / "appointment-admin.png"), full_page=True)
