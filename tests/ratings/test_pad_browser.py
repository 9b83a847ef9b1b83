"""The window's touch rating screen in headless Chromium, as the citizen sees it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from central.auth.models import Role
from central.auth.service import create_user
from central.ratings.models import Rating
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, needs_chromium, signed_in_page
from tests.conftest import RunningBroker
from tests.queueing.hall import Hall
from tests.workstation.support import PASSWORD, live_hub

pytestmark = [pytest.mark.browser, needs_chromium]


def serve(hall: Hall) -> None:
    hall.issue("general")
    hall.next(1)
    hall.start(1)
    hall.finish(1)


async def test_a_citizen_rates_on_the_window_screen(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with live_hub(mosquitto, tmp_path, "wangfang") as live, async_playwright() as pw:
        hall = live.hall
        clerk = hall.clerk("lijun", ["general"])
        await asyncio.to_thread(hall.login, 1, clerk)
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            await page.goto(f"{live.url}/rate/window/1")
            await expect(page.get_by_text("欢迎", exact=True)).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "rating-idle.png"))

            # The clerk finishes A001: the screen asks, without a reload.
            await asyncio.to_thread(serve, hall)
            await expect(page.get_by_text("请您对本次服务进行评价")).to_be_visible(timeout=8000)
            await expect(page.get_by_test_id("rate-number")).to_have_text("A001")
            await page.screenshot(path=str(ARTIFACTS / "rating-ask.png"))

            await page.get_by_role("button", name="不满意", exact=True).click()
            await expect(page.get_by_text("请选择不满意的原因（可多选）")).to_be_visible()
            await page.get_by_role("button", name="提交评价").click()
            await expect(page.get_by_role("alert")).to_have_text("“不满意”请至少选择一项原因")
            await page.get_by_text("办事效率低").click()
            await page.get_by_text("多次跑动").click()
            await page.screenshot(path=str(ARTIFACTS / "rating-reasons.png"))
            await page.get_by_role("button", name="提交评价").click()
            await expect(page.get_by_text("感谢您的评价！")).to_be_visible()
            await expect(page.get_by_text("A001 号 · 您的评价：不满意")).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "rating-thanks.png"))
            # Back to 欢迎 by itself: A001 is rated.
            await expect(page.get_by_text("欢迎", exact=True)).to_be_visible(timeout=10_000)

            # The next citizen taps a good face: stored at once.
            await asyncio.to_thread(serve, hall)
            await expect(page.get_by_test_id("rate-number")).to_have_text("A002", timeout=8000)
            await page.get_by_role("button", name="非常满意").click()
            await expect(page.get_by_text("A002 号 · 您的评价：非常满意")).to_be_visible()
        finally:
            await browser.close()

        def stored() -> list[tuple[str, int, list[str]]]:
            with live.state.sessions() as s:
                rows = s.scalars(select(Rating).order_by(Rating.id))
                return [(r.ticket_number, r.level, r.reasons) for r in rows]

        assert await asyncio.to_thread(stored) == [
            ("A001", 2, ["slow", "many_trips"]),
            ("A002", 5, []),
        ]

        # The hall manager reads them on the 好差评 page.
        def manager() -> None:
            with live.state.sessions() as s:
                create_user(s, username="zhaomin", role=Role.MANAGER, password=PASSWORD)
                s.commit()

        await asyncio.to_thread(manager)
        async with signed_in_page(live.url, "zhaomin", PASSWORD) as admin:
            await admin.get_by_role("link", name="好差评").click()
            await admin.get_by_label("开始日期").fill("2026-12-01")
            await admin.get_by_label("结束日期").fill("2026-12-01")
            await admin.get_by_role("button", name="查询").click()
            await expect(admin.get_by_test_id("ratings-total")).to_have_text("2")
            first = admin.locator("#rating-list tbody tr").first
            await expect(first).to_contain_text("非常满意")
            await expect(admin.locator("#rating-list")).to_contain_text("办事效率低")
            await admin.screenshot(path=str(ARTIFACTS / "rating-admin.png"), full_page=True)
