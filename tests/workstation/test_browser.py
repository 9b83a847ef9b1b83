"""The workstation in headless Chromium beside a caller box on the same window:
the clerk works with F-keys, the box's presses show on the page, refusals
are read in Chinese."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]
from playwright.async_api import Page, expect

from tests.browser import ARTIFACTS, needs_chromium, signed_in_page
from tests.conftest import RunningBroker
from tests.workstation.support import PASSWORD, caller_box, live_hub, press

pytestmark = [pytest.mark.browser, needs_chromium]


async def expect_current(page: Page, number: str, state: str) -> None:
    await expect(page.get_by_test_id("current-number")).to_have_text(number, timeout=6000)
    await expect(page.get_by_test_id("current-state")).to_contain_text(state, timeout=6000)


async def test_a_clerk_works_with_f_keys_beside_the_caller_box(
    mosquitto: RunningBroker, tmp_path: Path, pins: MockFactory
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with live_hub(mosquitto, tmp_path, "wangfang") as live:
        hall = live.hall
        for service in ("general", "estate", "general", "general"):
            await asyncio.to_thread(hall.issue, service)
        async with (
            caller_box(mosquitto, live.state, tmp_path, pins, window=1),
            signed_in_page(live.url, "wangfang", PASSWORD) as page,
        ):
            await page.goto(f"{live.url}/workstation")
            await page.get_by_role("link", name="进入 1 号窗口").click()
            await expect(page.get_by_role("heading", name="1 号窗口 · 窗口工作台")).to_be_visible()
            await page.evaluate("window.notReloaded = true")

            await page.keyboard.press("F11")  # 签到
            await expect(page.get_by_test_id("message")).to_have_text("已在 1 号窗口签到")
            await expect(page.get_by_test_id("window-status")).to_have_text("服务中")
            await expect(page.get_by_test_id("waiting-total")).to_have_text("4")

            await page.keyboard.press("F1")  # 叫号
            await expect(page.get_by_test_id("message")).to_have_text("请 A001 号到 1 号窗口")
            await expect_current(page, "A001", "已叫号")
            await page.keyboard.press("F3")  # 开始办理
            await expect_current(page, "A001", "办理中")
            await page.screenshot(path=str(ARTIFACTS / "workstation-serving.png"))

            # F5 would reload the page in a browser; here it is 转办, refused
            # without a target, and the page is still the same page.
            await page.keyboard.press("F5")
            await expect(page.get_by_test_id("message")).to_contain_text("未执行：")
            assert await page.evaluate("window.notReloaded === true")

            await page.get_by_label("办结结果（F4）").select_option(label="咨询")
            await page.keyboard.press("F4")  # 办结
            await expect(page.get_by_test_id("message")).to_have_text(
                "A001 已办结（咨询），请群众评价"
            )
            await expect_current(page, "—", "当前没有号码")

            # Nothing at the window: 重呼 is refused, in Chinese, in red.
            await page.keyboard.press("F2")
            refusal = page.get_by_test_id("message")
            await expect(refusal).to_have_text("未执行：1 号窗口当前没有号码")
            await expect(refusal).to_have_class("ws-msg refused")
            await page.screenshot(path=str(ARTIFACTS / "workstation-refused.png"))

            # The caller box at the same window calls the next citizen: the
            # page shows it on its next poll, without a key pressed.
            press(pins, "next")
            await expect_current(page, "B001", "已叫号")
            press(pins, "start")
            await expect_current(page, "B001", "办理中")
            await expect(page.get_by_test_id("waiting-total")).to_have_text("2")
            # …and the clerk finishes it from the page.
            await page.keyboard.press("F4")
            await expect(page.get_by_test_id("message")).to_have_text(
                "B001 已办结（咨询），请群众评价"
            )
            await expect(page.get_by_test_id("last-rating")).to_have_text("待评价")

            # 指定叫号 by number; out of order it needs a reason (F8).
            await page.get_by_label("号码").fill("a003")
            await page.keyboard.press("F8")
            await expect(page.get_by_test_id("message")).to_contain_text(
                "未执行：指定叫号（插队）需要填写原因代码"
            )
            await page.get_by_label("原因（不按顺序时必选）").select_option(label="特殊困难群众")
            await page.keyboard.press("F8")
            await expect_current(page, "A003", "已叫号")
            await page.screenshot(path=str(ARTIFACTS / "workstation-called.png"), full_page=True)
            assert await page.evaluate("window.notReloaded === true")
