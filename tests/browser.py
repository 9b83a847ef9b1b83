"""Headless Chromium for the page tests: Debian's browser, never a download."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach
# Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"needs Chromium at {CHROMIUM}"
)


@asynccontextmanager
async def signed_in_page(
    hub_url: str, username: str, password: str, *, width: int = 1360, height: int = 900
) -> AsyncIterator[Page]:
    """A Chromium page (zh-CN) signed in to the admin web as `username`."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(
                viewport={"width": width, "height": height}, locale="zh-CN"
            )
            await page.goto(f"{hub_url}/login")
            await page.get_by_label("用户名").fill(username)
            await page.get_by_label("密码").fill(password)
            await page.get_by_role("button", name="登录").click()
            yield page
        finally:
            await browser.close()
