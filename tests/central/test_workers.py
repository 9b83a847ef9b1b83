"""`anxin hub --workers N`: several processes serve one hall without
calling a ticket twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
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
    service_code,
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


def _stop(hub: subprocess.Popen[str]) -> None:
    """Ctrl-C, as an operator would: the hub and its workers end cleanly."""
    hub.send_signal(signal.SIGINT)
    try:
        assert hub.wait(30) == 0
    finally:
        if hub.poll() is None:
            hub.kill()


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
                    code = service_code(SERVICES[i % len(SERVICES)])
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
        _stop(proc)


def _workers(hub: subprocess.Popen[str]) -> set[int]:
    """The hub's worker processes (its spawned children, not multiprocessing's
    resource tracker)."""
    children = Path(f"/proc/{hub.pid}/task/{hub.pid}/children").read_text().split()
    found = set()
    for pid in map(int, children):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.add(pid)
    return found


def _owner_of_connection(url: str, workers: set[int]) -> int | None:
    """Which worker accepted a new TCP connection to the hub (from /proc)."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        mine = client.getsockname()[1]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            inode = _server_side_inode(port, mine)
            for pid in workers:
                with contextlib.suppress(FileNotFoundError):
                    for fd in Path(f"/proc/{pid}/fd").iterdir():
                        with contextlib.suppress(OSError):
                            if inode and os.readlink(fd) == f"socket:[{inode}]":
                                return pid
            time.sleep(0.05)
    return None


def _server_side_inode(port: int, client_port: int) -> str | None:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == client_port:
            return inode
    return None


def test_a_worker_that_dies_is_replaced_and_the_hall_keeps_being_served(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    upgrade_database(hub_settings(database_url=database_url, tmp_path=tmp_path))
    proc, url = _start(tmp_path, database_url)
    try:
        deadline = time.monotonic() + 30
        while len(workers := _workers(proc)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2, workers
        dead = min(workers)
        os.kill(dead, signal.SIGKILL)
        # No request fails: a connection the kernel hands to the dead worker's
        # socket waits there for its replacement.
        for _ in range(20):
            assert httpx.get(f"{url}/healthz", timeout=60).status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _workers(proc)
            if len(now) == 2 and dead not in now:
                break
            time.sleep(0.2)
        assert len(now) == 2, now
        assert dead not in now
        # Both workers take new connections: SO_REUSEPORT spreads them by hash.
        owners: set[int | None] = set()
        deadline = time.monotonic() + 30
        while owners != now and time.monotonic() < deadline:
            owners.add(_owner_of_connection(url, now))
        assert owners == now, (owners, now)
    finally:
        _stop(proc)
