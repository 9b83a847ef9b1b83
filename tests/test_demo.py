"""`anxin demo` as a person uses it: run it, open the printed URL in a real
browser, log in with the printed one-time password, see four devices online,
stop one device process and watch the page mark it offline, then Ctrl-C."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, needs_chromium

KEEPALIVE_S = 2

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    url: str
    password: str
    pids: dict[str, int]
    log: list[str]


def _read_banner(proc: subprocess.Popen[str], log: list[str], within_s: float) -> str:
    """Read lines until the banner's last line; returns the banner."""
    assert proc.stdout is not None
    deadline = time.monotonic() + within_s
    banner: list[str] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            continue
        line = proc.stdout.readline()
        if not line:
            break
        log.append(line)
        if "demo is running" in line or banner:
            banner.append(line)
        if "Ctrl-C stops everything" in line:
            return "".join(banner)
    raise AssertionError("the demo did not print its banner:\n" + "".join(log[-40:]))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "anxin", "demo", "--data-dir", str(tmp_path / "var"),
         "--keepalive", str(KEEPALIVE_S)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    log: list[str] = []
    try:
        banner = _read_banner(proc, log, 60)
        url = re.search(r"(http://127\.0\.0\.1:\d+/devices)", banner)
        password = re.search(r"admin / (\S+)", banner)
        pids = dict(re.findall(r"([a-z]+-\d+)=(\d+)", banner))
        assert url, banner
        assert password, banner
        assert len(pids) == 4, banner
        yield Demo(proc, url.group(1), password.group(1), {k: int(v) for k, v in pids.items()},
                   log)  # fmt: skip
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_demo_shows_four_devices_and_a_stopped_one_goes_offline(demo: Demo) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 700})
        page.goto(demo.url)
        # Not signed in: the devices page sends us to the login page.
        page.get_by_label("用户名").fill("admin")
        page.get_by_label("密码", exact=True).fill(demo.password)
        page.get_by_role("button", name="登录").click()
        # A one-time password must be replaced before anything else.
        page.get_by_label("当前密码").fill(demo.password)
        page.get_by_label("新密码", exact=True).fill("Xian-hall-2026!")
        page.get_by_label("再次输入新密码").fill("Xian-hall-2026!")
        page.get_by_role("button", name="保存").click()
        page.goto(demo.url)

        rows = page.locator("tbody tr")
        for device_id in ("kiosk-01", "caller-01", "display-01", "signlang-01"):
            expect(rows.filter(has_text=device_id)).to_contain_text("在线", timeout=15_000)

        # The process dies without a goodbye: only the broker's will says so.
        os.kill(demo.pids["caller-01"], signal.SIGKILL)
        killed_at = time.monotonic()
        # 1.5 x keepalive at the broker, plus the page's 1 s refresh and slack.
        expect(rows.filter(has_text="caller-01")).to_contain_text(
            "离线", timeout=(1.5 * KEEPALIVE_S + 4) * 1000
        )
        took = time.monotonic() - killed_at
        for device_id in ("kiosk-01", "display-01", "signlang-01"):
            expect(rows.filter(has_text=device_id)).to_contain_text("在线")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo-devices.png"), full_page=True)
        browser.close()
    assert took <= 1.5 * KEEPALIVE_S + 4

    # The demo matter library is published: the citizen's guide finds matters.
    base = demo.url.removesuffix("/devices")
    library = httpx.get(f"{base}/api/v1/matters/library.json", timeout=10).json()
    assert library["demo"] is True
    assert len(library["matters"]) >= 30
    guide = httpx.get(f"{base}/guide", params={"q": "开个小饭馆要办什么证"}, timeout=10)
    assert "食品经营许可" in guide.text

    # Ctrl-C stops the rest cleanly.
    demo.proc.send_signal(signal.SIGINT)
    out, _ = demo.proc.communicate(timeout=30)
    assert demo.proc.returncode == 0, "".join(demo.log[-30:]) + out
    assert "[demo] stopped" in out
