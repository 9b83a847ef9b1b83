"""Staff see a dry printer and a silent voice on 设备管理, and see them go away."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from broker.contract import DeviceKind, Event, Health, encode, new_id, utcnow
from central.auth.models import Role
from central.auth.service import create_user
from central.db import database_url, make_engine, make_sessionmaker, upgrade_database
from edge.ports.speaker import AnnouncementReport
from tests.browser import ARTIFACTS, needs_chromium, signed_in_page
from tests.central.conftest import PASSWORD, hub_settings, running_hub, serving_hub
from tests.central.fakes import FakeDevice, eventually
from tests.conftest import RunningBroker
from tests.queueing.hall import MORNING


class Reporter:
    """Events and heartbeats as a kiosk or display agent sends them."""

    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self.seq = 0

    def emit(self, name: str, data: dict[str, object]) -> None:
        self.seq += 1
        d = self.device
        event = Event(event_id=new_id(), boot_id=d.boot_id, seq=self.seq, ts=utcnow(), data=data)
        d.publish_raw(d.topics.event(d.id, name), encode(event))

    def health(self, **ports: str) -> None:
        d = self.device
        health = Health(
            uptime_s=30.0,
            cpu_percent=5.0,
            memory_percent=30.0,
            version=d.version,
            outbox_depth=0,
            ports=ports,
        )
        assert d.session.publish(d.topics.health(d.id), encode(health), qos=0)


def paper_out() -> dict[str, object]:
    # What kiosk_ui.device.DeviceSide.print_problem emits.
    return {"state": "paper_out", "detail": "号票未打印：打印机缺纸，请更换打印纸", "bytes": 0}


def announcement(status: str, reason: str | None) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    report = AnnouncementReport(
        ticket="A012",
        window=5,
        status="played" if status == "played" else "skipped" if status == "skipped" else "failed",
        reason=reason,
        called_at=now,
        queued_at=now,
        first_sample_at=now if status == "played" else None,
        finished_at=now,
    )
    return report.as_event()


@pytest.fixture
async def hub_url(mosquitto: RunningBroker, tmp_path: Path) -> AsyncIterator[str]:
    settings = hub_settings(
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        tmp_path=tmp_path,
        broker=mosquitto,
        port=0,
        clock_start=MORNING,
    )
    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    with make_sessionmaker(engine)() as session:
        create_user(session, username="zhangwei", role=Role.ADMIN, password=PASSWORD)
        session.commit()
    engine.dispose()
    async with serving_hub(settings) as url:
        yield url


@pytest.mark.browser
@needs_chromium
async def test_staff_see_a_dry_printer_and_a_failed_voice_until_they_are_fine(
    hub_url: str, mosquitto: RunningBroker
) -> None:
    kiosk = await FakeDevice(mosquitto, "kiosk-01", version="1.4.2").start()
    quiet = await FakeDevice(mosquitto, "kiosk-02").start()
    board = await FakeDevice(mosquitto, "display-01", kind=DeviceKind.DISPLAY).start()
    k, b = Reporter(kiosk), Reporter(board)
    k.health(printer="ok")
    Reporter(quiet).health(printer="ok")
    b.health(speaker="ok")
    try:
        async with signed_in_page(hub_url, "zhangwei", PASSWORD, width=1280, height=620) as page:
            await expect(page).to_have_url(f"{hub_url}/devices")
            await expect(page.locator("#device-kiosk-01 .badge.online")).to_be_visible()
            await expect(page.locator(".badge.alert")).to_have_count(0)
            await expect(page.locator("#alert-count")).to_have_text("")

            k.emit("printer_problem", paper_out())
            b.emit("announcement", announcement("failed", "no audio device (aplay: hw:0,0)"))

            kiosk_row = page.locator("#device-kiosk-01")
            await expect(kiosk_row.locator(".badge.alert")).to_have_text("打印机缺纸", timeout=5000)
            await expect(kiosk_row).to_contain_text("号票未打印：打印机缺纸，请更换打印纸")
            board_row = page.locator("#device-display-01")
            await expect(board_row.locator(".badge.alert")).to_have_text("语音播报失败")
            await expect(board_row).to_contain_text("A012 号 → 5 号窗口：no audio device")
            await expect(page.locator("h1 #alert-count")).to_have_text("2 台设备告警")
            await expect(page.locator("#device-kiosk-02 .badge.alert")).to_have_count(0)
            # The troubled devices come first.
            first_two = await page.locator("table.devices tbody tr").evaluate_all(
                "rows => rows.slice(0, 2).map(r => r.id)"
            )
            assert sorted(first_two) == ["device-display-01", "device-kiosk-01"]
            # The time is shown (hub's display zone), not just the words.
            assert "前" in (await kiosk_row.locator(".alert-when").inner_text())

            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "devices-alerts.png"), full_page=True)

            # A heartbeat that cannot tell (a file printer) keeps the alert …
            k.health(printer="unknown")
            await page.wait_for_timeout(1500)
            await expect(kiosk_row.locator(".badge.alert")).to_have_text("打印机缺纸")
            # … one that says the printer is fine again clears it.
            k.health(printer="ok")
            await expect(kiosk_row.locator(".badge.alert")).to_have_count(0, timeout=5000)
            await expect(page.locator("#alert-count")).to_have_text("1 台设备告警")

            # The next call heard on the speaker clears the voice alert.
            b.emit("announcement", announcement("played", None))
            await expect(board_row.locator(".badge.alert")).to_have_count(0, timeout=5000)
            await expect(page.locator("#alert-count")).to_have_text("")
            await expect(page.locator("#alert-count")).not_to_have_class("alert-count")
    finally:
        for device in (kiosk, quiet, board):
            await device.stop()


async def test_a_heartbeat_alone_raises_and_clears_an_alert(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    """No print failed yet, but the printer says it is out of paper; a speaker
    that reports failure in its heartbeat is red too."""
    async with running_hub(
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        tmp_path=tmp_path,
        broker=mosquitto,
        clock_start=MORNING,
    ) as hub:
        await hub.sign_in(Role.MANAGER)
        kiosk = await hub.device("kiosk-07")
        board = await hub.device("display-02", kind=DeviceKind.DISPLAY)
        Reporter(kiosk).health(printer="cover_open")
        Reporter(board).health(speaker="failed: no audio device")

        async def table() -> str:
            return (await hub.client.get("/devices/table")).text

        async def both_red() -> bool:
            text = await table()
            return "打印机纸仓盖未关" in text and "语音播报失败" in text

        await eventually(both_red)
        text = await table()
        assert "2 台设备告警" in text
        assert "心跳报告" in text

        Reporter(kiosk).health(printer="ok")
        Reporter(board).health(speaker="ok")

        async def clear() -> bool:
            return "badge alert" not in await table()

        await eventually(clear)


async def test_calls_skipped_for_a_backlog_are_not_a_failed_voice(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    """A display that skipped calls because they waited too long (its speaker
    works) shows 语音叫号积压 with how many, never 语音播报失败; skips neither
    raise nor clear a real failure."""
    async with running_hub(
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        tmp_path=tmp_path,
        broker=mosquitto,
        clock_start=MORNING,
    ) as hub:
        await hub.sign_in(Role.MANAGER)
        busy = Reporter(await hub.device("display-03", kind=DeviceKind.DISPLAY))
        broken = Reporter(await hub.device("display-04", kind=DeviceKind.DISPLAY))
        busy.health(speaker="ok")
        broken.health(speaker="ok")

        async def row(device_id: str) -> str:
            text = (await hub.client.get("/devices/table")).text
            start = text.find(f'id="device-{device_id}"')
            if start == -1:
                return ""
            end = text.find("<tr", start + 1)
            return text[start : end if end != -1 else len(text)]

        busy.emit("announcement", announcement("played", None))
        for _ in range(3):
            busy.emit("announcement", announcement("skipped", "backlog: waited 64 s"))
        busy.emit("announcement", announcement("played", None))
        broken.emit("announcement", announcement("failed", "no audio device"))
        broken.emit("announcement", announcement("skipped", "backlog: waited 64 s"))

        async def settled() -> bool:
            return "3 次叫号" in await row("display-03") and "语音播报失败" in await row(
                "display-04"
            )

        await eventually(settled)
        busy_row, broken_row = await row("display-03"), await row("display-04")
        assert "语音叫号积压" in busy_row
        assert "语音播报失败" not in busy_row
        # The failure stays the news: a later skip does not hide it.
        assert "no audio device" in broken_row
        assert "语音叫号积压" not in broken_row

        broken.emit("announcement", announcement("played", None))

        async def backlog_only() -> bool:
            text = await row("display-04")
            return "语音播报失败" not in text and "语音叫号积压" in text

        await eventually(backlog_only)
