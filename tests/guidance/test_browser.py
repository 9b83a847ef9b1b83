"""智能导办 end to end on a phone in headless Chromium: search, answer the
questions with htmx, read the checklist, open the printable page."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from central.db import make_engine, make_sessionmaker, upgrade_database
from central.matters.service import import_library
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.central.conftest import hub_settings, serving_hub
from tests.conftest import RunningBroker
from tests.guidance.library import small_library
from tests.queueing.hall import MORNING, Hall


def prepare(url: str, tmp_path: Path) -> None:
    settings = hub_settings(database_url=url, tmp_path=tmp_path)
    upgrade_database(settings)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            assert import_library(s, small_library(), author="test", reason="test", publish=True).ok
            s.commit()
        hall = Hall(settings, engine, sessions)
        # Open around the clock: the hub routes on the real clock, whenever the test runs.
        hall.service(
            "individual_business", "C", "个体工商户登记", avg_handling_s=600,
            opens_at=dt.time(0, 0), closes_at=dt.time(23, 59, 59),
        )  # fmt: skip
        hall.window(13, {"individual_business": 1.0})
        hall.window(14, {"individual_business": 1.0})
        hall.login(13, hall.clerk("li", ["individual_business"]))
        hall.login(14, hall.clerk("zhao", ["individual_business"]))
        for _ in range(3):
            hall.issue("individual_business", now=MORNING)
    finally:
        engine.dispose()


@pytest.mark.browser
@needs_chromium
async def test_a_citizen_finds_the_matter_answers_and_gets_the_checklist_on_a_phone(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    await asyncio.to_thread(prepare, url, tmp_path)
    settings = hub_settings(
        database_url=url, tmp_path=tmp_path, broker=mosquitto, port=0, clock_start=MORNING
    )
    ARTIFACTS.mkdir(exist_ok=True)
    async with serving_hub(settings) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
            )
            await page.goto(f"{base}/guide")
            await page.get_by_test_id("search-box").fill("gtgsh")
            await page.get_by_role("button", name="搜索").click()
            result = page.get_by_test_id("matter-results").get_by_role("link").first
            await expect(result).to_have_text("个体工商户设立登记")
            assert page.url.endswith("/guide?q=gtgsh")  # htmx pushed the search URL
            await page.screenshot(path=str(ARTIFACTS / "guide-search.png"), full_page=True)

            await result.click()
            await expect(page.get_by_test_id("question")).to_contain_text("第 1 问")
            await page.get_by_role("link", name="不是，帮别人办").click()
            await expect(page.get_by_test_id("question")).to_contain_text("第 2 问")
            await page.screenshot(path=str(ARTIFACTS / "guide-question.png"), full_page=True)
            await page.get_by_role("link", name="自己的房子").click()

            materials = page.get_by_test_id("materials")
            await expect(materials).to_contain_text("授权委托书")
            await expect(materials).to_contain_text("房屋产权证明")
            await expect(materials).not_to_contain_text("房屋租赁合同")
            await expect(page.get_by_test_id("time-limit")).to_have_text("1 个工作日内办结")
            await expect(page.get_by_test_id("route-reason")).to_contain_text(
                "推荐 个体工商户登记：前面 3 人"
            )
            await expect(page.get_by_test_id("book")).to_be_disabled()
            # Back goes to the previous question (htmx pushed every step).
            assert "place%3Aown" in page.url
            await page.screenshot(path=str(ARTIFACTS / "guide-checklist.png"), full_page=True)

            await page.get_by_test_id("print").click()
            await expect(page.get_by_test_id("qr").locator("svg")).to_be_visible()
            await expect(page.get_by_test_id("printable")).to_contain_text("授权委托书")
            await page.screenshot(path=str(ARTIFACTS / "guide-print.png"), full_page=True)
        finally:
            await browser.close()
