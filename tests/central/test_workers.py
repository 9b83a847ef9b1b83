"""`anxin hub --workers N`: several processes serve one hall without
calling a ticket twice."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.queuehub import (
    ADMIN,
    ADMIN_PASSWORD,
    PATHS,
    SERVICES,
    build_hall,
    sign_in_windows,
)
from central.db import make_engine, make_sessionmaker, upgrade_database
from tests.central.conftest import hub_settings

WINDOWS = 8


def _start(tmp_path: Path, database_url: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    env.update(
        ANXIN_DATA_DIR=str(tmp_path / "data"),
        ANXIN_HUB__DATABASE_URL=database_url,
        ANXIN_HUB__SECRET_KEY="test-hall-secret",
        ANXIN_HUB__PORT="0",
        ANXIN_MQTT__PORT="1",  # no broker: the bridge keeps retrying, HTTP works
        ANXIN_QUEUE__DAY_ROLLOVER="00:00",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "anxin", "hub", "--workers", "2"],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if found := re.search(r"hub ready: (http://\S+)", line):
            return proc, found.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("the hub with two workers did not start")


def test_two_workers_share_the_windows_and_never_call_a_ticket_twice(
    tmp_path: Path, database_url: str
) -> None:
    settings = hub_settings(database_url=database_url, tmp_path=tmp_path)
    upgrade_database(settings)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    build_hall(sessions, windows=WINDOWS)
    sign_in_windows(sessions, settings, WINDOWS)
    engine.dispose()
    proc, url = _start(tmp_path, database_url)
    try:

        async def run() -> list[str]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as c:
                r = await c.post(PATHS.login, json={"username": ADMIN, "password": ADMIN_PASSWORD})
                c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
                for i in range(60):
                    code = f"svc_{SERVICES[i % len(SERVICES)].lower()}"
                    r = await c.post(PATHS.issue, json={"service": code})
                    assert r.status_code == 201, r.text
                numbers = []
                for _ in range(3):  # every window presses "next" at once, three times
                    calls = await asyncio.gather(
                        *(
                            c.post(PATHS.next.format(n=n), json={"finish_current": "completed"})
                            for n in range(1, WINDOWS + 1)
                        )
                    )
                    assert all(r.status_code == 200 for r in calls), [r.text for r in calls]
                    numbers += [r.json()["ticket"]["number"] for r in calls]
                return numbers

        called = asyncio.run(run())
        assert len(called) == 3 * WINDOWS
        assert len(set(called)) == len(called), sorted(called)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
