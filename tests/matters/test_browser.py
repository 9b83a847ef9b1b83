"""The 事项库 in headless Chromium: search, edit an element, see the diff, publish."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from central.auth.models import Role
from central.auth.service import create_user
from central.db import database_url as settings_url
from central.db import make_engine, make_sessionmaker, upgrade_database
from central.matters import service
from tests.browser import ARTIFACTS, needs_chromium, signed_in_page
from tests.central.conftest import PASSWORD, hub_settings, serving_hub
from tests.conftest import RunningBroker
from tests.matters.library import small_library


@pytest.fixture
async def hub_url(mosquitto: RunningBroker, tmp_path: Path) -> AsyncIterator[str]:
    settings = hub_settings(
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path=tmp_path,
        broker=mosquitto, port=0,
    )  # fmt: skip
    upgrade_database(settings)
    engine = make_engine(settings_url(settings))
    with make_sessionmaker(engine)() as session:
        service.import_library(session, small_library(), author="lijun", reason="首次录入",
                               publish=True)  # fmt: skip
        create_user(session, username="wangfang", role=Role.MANAGER, password=PASSWORD)
        session.commit()
    engine.dispose()
    async with serving_hub(settings) as url:
        yield url


@pytest.mark.browser
@needs_chromium
async def test_a_manager_searches_edits_compares_and_publishes(hub_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with signed_in_page(hub_url, "wangfang", PASSWORD) as page:
        await page.get_by_role("link", name="事项库").click()
        await expect(page.locator("#matter-list tbody tr")).to_have_count(2)
        await page.get_by_label("搜索事项").fill("开饭店")
        await expect(page.locator("#matter-list tbody tr")).to_have_count(1)
        await expect(page.locator("#matter-list")).to_contain_text("已发布第 1 版")
        await page.screenshot(path=str(ARTIFACTS / "matters-list.png"))

        await page.get_by_role("link", name="食品经营许可证核发").click()
        await expect(page.locator("#preview .mx-path")).to_have_count(4)
        await page.get_by_label("承诺办结时限", exact=True).fill("7")
        await page.get_by_label("要素修改原因").fill("落实减时限要求")
        await page.get_by_role("button", name="保存要素").click()
        await expect(page.get_by_role("status")).to_contain_text("已保存为第 2 版")
        await expect(page.locator("#publish-state")).to_contain_text("草稿第 2 版待发布")
        await page.screenshot(path=str(ARTIFACTS / "matters-edit.png"), full_page=True)

        await page.get_by_role("link", name="与上一版比较").click()
        row = page.locator("#changes tbody tr", has_text="承诺办结时限")
        await expect(row).to_contain_text("10 工作日")
        await expect(row).to_contain_text("7 工作日")
        await expect(page.locator("main")).to_contain_text("落实减时限要求")
        await page.screenshot(path=str(ARTIFACTS / "matters-diff.png"))

        await page.get_by_role("link", name="食品经营许可证核发").click()
        await page.get_by_role("button", name="发布第 2 版").click()
        await expect(page.get_by_role("status")).to_contain_text("已发布第 2 版")
        await expect(page.locator("#publish-state")).to_have_text("已发布第 2 版")

        await page.goto(f"{hub_url}/matters/_check")
        await expect(page.get_by_role("status")).to_contain_text("全部通过检查")
