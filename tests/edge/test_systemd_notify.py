"""Under systemd (Type=notify, WatchdogSec) the agent says it is ready and
keeps the watchdog fed while its loop turns, even with no broker."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.contract import DeviceKind
from tests.edge.conftest import StartDevice
from tests.edge.support import wait_until


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def _received(sock: socket.socket, into: list[str]) -> list[str]:
    while True:
        try:
            into.append(sock.recv(256).decode())
        except BlockingIOError:
            return into


async def test_agent_tells_systemd_it_is_ready_and_alive(
    notify_socket: socket.socket, start_device: StartDevice
) -> None:
    await start_device("kiosk-07", DeviceKind.KIOSK)
    seen: list[str] = []

    await wait_until(lambda: "WATCHDOG=1" in _received(notify_socket, seen), what="a watchdog ping")
    assert seen[0] == "READY=1"
    await wait_until(
        lambda: _received(notify_socket, seen).count("WATCHDOG=1") >= 3,
        what="pings at every heartbeat",
    )
