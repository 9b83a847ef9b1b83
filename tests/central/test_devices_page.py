"""In a real browser: the 设备管理 page follows devices going offline without a reload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from broker.contract import DeviceKind
from central.auth.models import Role
from central.auth.service import create_user
from central.db import database_url, make_engine, make_sessionmaker, upgrade_database
from tests.browser import ARTIFACTS, needs_chromium, signed_in_page
from tests.central.conftest import PASSWORD, hub_settings, serving_hub
from tests.central.fakes import FakeDevice
from tests.conftest import RunningBroker

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


@pytest.fixture
async def hub_url(mosquitto: RunningBroker, tmp_path: Path) -> AsyncIterator[str]:
    settings = hub_settings(
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        tmp_path=tmp_path,
        broker=mosquitto,
        port=0,
    )
    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    with make_sessionmaker(engine)() as session:
        create_user(session, username="zhangwei", role=Role.ADMIN, password=PASSWORD)
        session.commit()
    engine.dispose()
    async with serving_hub(settings) as url:
        yield url


async def test_the_devices_page_shows_a_device_going_offline_without_reloading(
    hub_url: str, mosquitto: RunningBroker
) -> None:
    kiosk = await FakeDevice(mosquitto, "kiosk-01", version="1.4.2").start()
    caller = await FakeDevice(mosquitto, "caller-03", kind=DeviceKind.CALLER).start()
    board = await FakeDevice(mosquitto, "display-01", kind=DeviceKind.DISPLAY).start()
    sign = await FakeDevice(mosquitto, "signlang-01", kind=DeviceKind.SIGNLANG).start()
    for device in (kiosk, caller, board, sign):
        device.publish_health()
    try:
        async with signed_in_page(hub_url, "zhangwei", PASSWORD, width=1200, height=560) as page:
            await expect(page).to_have_url(f"{hub_url}/devices")
            await expect(page.get_by_role("heading", name="设备管理")).to_be_visible()

            kiosk_row = page.locator("#device-kiosk-01")
            await expect(kiosk_row).to_contain_text("取号机")
            await expect(kiosk_row.locator(".badge")).to_have_text("在线")
            await expect(kiosk_row).to_contain_text("1.4.2")
            await expect(page.locator("#device-signlang-01")).to_contain_text("手语终端")
            await page.evaluate("window.sameDocument = true")

            await caller.go_offline()  # the will a crashed caller leaves behind
            await expect(page.locator("#device-caller-03 .badge")).to_have_text(
                "离线", timeout=5000
            )
            assert await page.evaluate("window.sameDocument === true"), "the page was reloaded"

            await page.locator("#device-kiosk-01").get_by_role("button", name="检测").click()
            await expect(page.locator("#flash")).to_have_text("设备 kiosk-01 检测成功")

            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "devices.png"), full_page=True)
    finally:
        for device in (kiosk, board, sign):
            await device.stop()
