"""A hall board on the real hub and a real Mosquitto: a clerk calls through
the API, the display device (the real agent with the display kind, simulated
screen, speaker and serial LED board) shows the call, asks the speaker to
announce it, and the hub records the announcement's report. A board that
starts later shows the calls made before without announcing them, and a
malformed message on a hall topic changes nothing on the board."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from broker.contract import DeviceKind
from broker.session import Backoff, MqttSession
from central.auth.models import Role
from central.devices.models import DeviceEvent
from edge.kinds.display import Display, board_of
from edge.ports.factory import Ports
from edge.ports.serial_board import SimSerialBoard
from edge.ports.speaker import SimSpeaker
from edge.runner import make_agent
from tests.central.conftest import Hub, running_hub
from tests.central.fakes import eventually
from tests.conftest import RunningBroker
from tests.edge.support import device_settings
from tests.queueing.hall import MORNING
from tests.queueing.test_api import _hall

BOARD = "display-01"


async def _held_retained(hub: Hub, ticket: str) -> bool:
    """Whether the broker holds the hall's calls list with `ticket` in it."""
    assert hub.broker is not None
    held: list[bool] = []

    def on_message(_topic: str, payload: bytes, retained: bool) -> None:
        held.append(retained and ticket.encode() in payload)

    observer = MqttSession(
        client_id="observer",
        address=hub.broker.address("hub"),
        subscriptions=[(hub.topics.hall_calls(), 1)],
        on_message=on_message,
    )
    await observer.start()
    await observer.wait_connected(5)
    await asyncio.sleep(0.2)  # retained messages arrive right after SUBACK
    await observer.stop()
    return any(held)


async def _post(hub: Hub, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    response = await hub.client.post(f"/api/v1/queue{path}", json=body)
    assert response.status_code in (200, 201), response.text
    return response


@asynccontextmanager
async def display_device(
    broker: RunningBroker, tmp_path: Path
) -> AsyncIterator[tuple[Display, SimSpeaker, SimSerialBoard, Any]]:
    speaker, serial = SimSpeaker(), SimSerialBoard()
    settings = device_settings(broker, tmp_path / "display", BOARD, DeviceKind.DISPLAY)
    agent = make_agent(
        settings, ports=Ports(speaker=speaker, serial_board=serial), backoff=Backoff(0.1, 0.5)
    )
    await agent.start()
    try:
        await asyncio.wait_for(agent.wait_online(), 10)
        yield board_of(BOARD), speaker, serial, agent
    finally:
        await agent.stop()


def announcements(hub: Hub) -> list[dict[str, Any]]:
    with hub.state.sessions() as s:
        query = select(DeviceEvent).where(
            DeviceEvent.device_id == BOARD, DeviceEvent.name == "announcement"
        )
        return [e.data for e in s.scalars(query.order_by(DeviceEvent.id))]


async def test_a_call_at_a_window_is_shown_announced_and_reported_to_the_hub(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    async with running_hub(
        database_url=url, tmp_path=tmp_path, broker=mosquitto, clock_start=MORNING
    ) as hub:
        await hub.sign_in(Role.CLERK)
        _hall(hub, ["clerk-user"])
        await _post(hub, "/windows/1/login", {})
        for _ in range(3):
            await _post(hub, "/tickets", {"service": "general"})
        first = (await _post(hub, "/windows/1/next")).json()
        assert first["message"] == "请 A001 号到 1 号窗口"
        # The call's list reaches the broker just after the answer; a board
        # switched on before that would rightly take it as news.
        await eventually(lambda: _held_retained(hub, "A001"), what="A001 retained at the broker")

        async with display_device(mosquitto, tmp_path) as (display, speaker, serial, agent):
            # Switched on after A001 was called: shown at once, not announced.
            await eventually(
                lambda: [r.ticket for r in display.vm.view().calls] == ["A001"],
                what="the retained calls on the board",
            )
            await asyncio.sleep(0.3)
            assert speaker.announced == []
            assert display.vm.view().featured is None
            assert serial.shown[-1] == ["A001 请到 1号窗口"]

            # The clerk finishes A001 and calls the next citizen.
            await _post(hub, "/windows/1/next", {"finish_current": "completed"})
            await eventually(
                lambda: [a.ticket for a in speaker.announced] == ["A002"],
                what="the speaker asked to announce A002",
            )
            view = display.vm.view()
            assert view.featured is not None
            assert view.featured.sentence == "请 A002 号 到 1号窗口 办理"
            assert [(r.ticket, r.highlighted) for r in view.calls] == [
                ("A002", True), ("A001", False),
            ]  # fmt: skip
            assert speaker.announced[0].window_name == "1号窗口"
            assert serial.shown[-1] == ["A002 请到 1号窗口", "A001 请到 1号窗口"]

            # The hub stores the speaker's report (played) from the device's outbox.
            await eventually(lambda: len(announcements(hub)) == 1, what="the announcement event")
            (report,) = announcements(hub)
            assert (report["ticket"], report["window"], report["status"]) == ("A002", 1, "played")
            assert report["first_sample_at"] is not None

            # A malformed message on the calls topic is refused; the board carries on.
            topic = hub.topics.hall_calls()
            hub.state.bridge.mqtt.publish(topic, b'{"calls": [{"ticket": 12}]}', qos=1)
            await eventually(lambda: agent.rejected >= 1, what="the bad message refused")
            assert any("invalid HallCalls" in r for r in agent.rejections)
            assert [r.ticket for r in display.vm.view().calls] == ["A002", "A001"]

            await _post(hub, "/windows/1/next", {"finish_current": "completed"})
            await eventually(
                lambda: [a.ticket for a in speaker.announced] == ["A002", "A003"],
                what="the next call still announced",
            )
