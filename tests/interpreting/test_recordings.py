"""The terminals' recording reports reach the hub as device events (real
Mosquitto, the real bridge) and show in 通话记录's 录像 column; a malformed
or misplaced report is rejected with a logged reason and breaks nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from broker.contract import DeviceKind, Event, encode, new_id, utcnow
from central.auth.models import Role
from central.interpreting.models import InterpRecording, InterpRequest
from central.interpreting.service import interpreting_of
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.central.conftest import Hub
from tests.central.conftest import mosquitto_hub as mosquitto_hub  # the fixture
from tests.central.fakes import FakeDevice, eventually

pytestmark = pytest.mark.timeout(60)
HAVE_CHROMIUM = Path(CHROMIUM).exists()

T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Xi'an
AGREED, REFUSED, OTHERS = "a" * 32, "b" * 32, "c" * 32


def seed(hub: Hub) -> None:
    with hub.state.sessions() as s:
        calls = [
            (AGREED, "signlang-01", True),
            (REFUSED, "signlang-01", False),
            (OTHERS, "signlang-02", True),
        ]
        for n, (rid, terminal, consent) in enumerate(calls):
            at = T0 + dt.timedelta(minutes=10 * n)
            s.add(InterpRequest(
                id=rid, terminal=terminal, language="csl", consent_recording=consent,
                priority=0, state="ended", requested_at=at,
                answered_at=at + dt.timedelta(seconds=20),
                ended_at=at + dt.timedelta(seconds=150),
            ))  # fmt: skip
        s.commit()


class Terminal:
    """Events as the signlang kind's durable outbox sends them."""

    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self.seq = 0

    def emit(self, name: str, data: dict[str, Any]) -> None:
        self.seq += 1
        d = self.device
        event = Event(event_id=new_id(), boot_id=d.boot_id, seq=self.seq, ts=utcnow(), data=data)
        d.publish_raw(d.topics.event(d.id, name), encode(event))


def saved(rid: str, segment: int = 1, **extra: Any) -> dict[str, Any]:
    return {"request_id": rid, "segment": segment, "file": f"{rid}-{segment}.mp4",
            "bytes": 12_345_678, "duration_s": 125.4, **extra}  # fmt: skip


def rows(hub: Hub) -> list[tuple[str, int, str]]:
    with hub.state.sessions() as s:
        found = s.execute(
            select(InterpRecording.request_id, InterpRecording.segment, InterpRecording.status)
            .order_by(InterpRecording.id)
        ).all()  # fmt: skip
        return [tuple(r) for r in found]  # type: ignore[misc]


async def test_reports_are_stored_and_shown_and_bad_ones_rejected(
    mosquitto_hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = mosquitto_hub
    await asyncio.to_thread(seed, hub)
    service = interpreting_of(hub.app)
    device = await hub.device("signlang-01", kind=DeviceKind.SIGNLANG)
    terminal = Terminal(device)
    caplog.set_level(logging.WARNING, logger="central.interpreting.recordings")

    # Malformed or misplaced: each rejected with its reason, nothing stored.
    bad: list[tuple[str, dict[str, Any]]] = [
        ("recording_saved", saved(AGREED, extra="x")),  # an unknown field
        ("recording_saved", saved(AGREED) | {"file": "../../etc/passwd"}),
        ("recording_saved", {"request_id": AGREED, "segment": 1}),  # saved, but no file
        ("recording_saved", saved(AGREED, reason="磁盘已满")),  # a failure under "saved"
        ("recording_failed", saved(AGREED)),  # a failure without a reason
        ("recording_saved", saved(AGREED) | {"segment": 0}),
        ("recording_saved", saved(REFUSED)),  # the citizen did not agree
        ("recording_saved", saved(OTHERS)),  # another terminal's call
        ("recording_saved", saved("d" * 32)),  # no such request
    ]
    for name, data in bad:
        terminal.emit(name, data)
    # Good reports after the bad ones: the hub still listens.
    terminal.emit("recording_saved", saved(AGREED))
    terminal.emit("recording_failed", {"request_id": AGREED, "segment": 2,
                                       "reason": "录像写入失败：存储空间已满"})  # fmt: skip
    terminal.emit("recording_saved", saved(AGREED))  # told twice (a replay): one row
    await eventually(lambda: len(rows(hub)) == 2 and service.recordings.rejected == len(bad),
                     within_s=10, what="the reports handled")  # fmt: skip
    await asyncio.sleep(0.3)
    await service.recorder.flush()
    assert rows(hub) == [(AGREED, 1, "saved"), (AGREED, 2, "failed")]
    assert service.recordings.rejected == len(bad)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for why in ("extra", "file", "names its file", "with a reason", "without a reason",
                "segment", "did not consent", "signlang-02", "no such request"):  # fmt: skip
        assert why in logged, (why, logged)

    await hub.sign_in(Role.MANAGER)
    page = await hub.client.get("/interpreting/records?start=2026-03-02&end=2026-03-02")
    assert page.status_code == 200
    text = page.text
    row = text.split(f'data-request="{AGREED}"')[1].split("</tr>")[0]
    assert "已录像（02:05，11.8 MB）" in row
    assert "1 段录像失败（录像写入失败：存储空间已满）" in row
    assert f"{AGREED}-1.mp4" in row
    refused = text.split(f'data-request="{REFUSED}"')[1].split("</tr>")[0]
    assert "未同意录像" in refused
    others = text.split(f'data-request="{OTHERS}"')[1].split("</tr>")[0]
    assert "同意录像，未收到终端的录像报告" in others
    await _screenshot(hub, "/interpreting/records?start=2026-03-02&end=2026-03-02")
    stats = await hub.client.get("/interpreting/stats?start=2026-03-02&end=2026-03-02")
    assert "/interpreting/records?start=2026-03-02" in stats.text
    assert (await hub.client.get("/interpreting/records?start=2026-03-05&end=2026-03-01")
            ).status_code == 400  # fmt: skip


async def _screenshot(hub: Hub, path: str) -> None:
    """The page as a manager sees it, in headless Chromium, served by the
    in-process hub (every request of the page goes through the test client)."""
    from playwright.async_api import Route, async_playwright

    if not HAVE_CHROMIUM:
        return  # the page's text is checked above; the picture needs Chromium
    base = str(hub.client.base_url).rstrip("/")

    async def serve(route: Route) -> None:
        req = route.request
        r = await hub.client.request(req.method, req.url.removeprefix(base))
        await route.fulfill(status=r.status_code, headers=dict(r.headers), body=r.content)

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(viewport={"width": 1360, "height": 700}, locale="zh-CN")
            await page.route(f"{base}/**", serve)
            await page.goto(base + path)
            await page.screenshot(path=str(ARTIFACTS / "interpreting-records.png"), full_page=True)
        finally:
            await browser.close()
