"""The queue over HTTP and from a caller's buttons, as a clerk uses it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from broker.contract import DeviceKind, Event, encode, utcnow
from central.auth.models import Role, User
from central.queueing import service
from central.queueing.models import (
    Channel,
    ClerkService,
    Service,
    ServiceArea,
    Ticket,
    TicketEvent,
    Window,
    WindowService,
)
from tests.central.conftest import Hub, running_hub
from tests.central.fakes import eventually
from tests.conftest import RunningBroker
from tests.queueing.hall import MORNING


@pytest.fixture
def all_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run at any hour: the day turns at midnight and services never close.
    monkeypatch.setenv("ANXIN_QUEUE__DAY_ROLLOVER", "00:00:00")


@pytest.fixture
async def web(all_day: None, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(database_url=database_url, tmp_path=tmp_path, broker=None) as h:
        h.state.clock.set(MORNING)  # the same hour of the day whenever the test runs
        yield h


@pytest.fixture
async def mqtt_hub(
    all_day: None, mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> AsyncIterator[Hub]:
    async with running_hub(database_url=database_url, tmp_path=tmp_path, broker=mosquitto) as h:
        yield h


def _hall(hub: Hub, clerks: list[str]) -> None:
    """Service 综合受理 (A) at windows 1 and 2; `clerks` certified for it."""
    with hub.state.sessions() as s:
        area = ServiceArea(code="zonghe", name="综合窗口区", sort=0)
        s.add(area)
        s.flush()
        svc = Service(
            code="general",
            name="综合受理",
            area_id=area.id,
            prefix="A",
            opens_at=dt.time(0, 0),
            closes_at=dt.time(23, 59, 59),
        )
        s.add(svc)
        s.flush()
        for n in (1, 2):
            win = Window(number=n, name=f"{n}号窗口", area_id=area.id)
            s.add(win)
            s.flush()
            s.add(WindowService(window_id=win.id, service_id=svc.id, weight=1.0))
        for name in clerks:
            uid = s.scalar(select(User.id).where(User.username == name))
            s.add(ClerkService(user_id=uid, service_id=svc.id))
        s.commit()


async def _post(hub: Hub, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return await hub.client.post(f"/api/v1/queue{path}", json=body)


async def test_a_clerk_signs_in_calls_serves_and_finishes_over_the_api(web: Hub) -> None:
    await web.sign_in(Role.CLERK)
    _hall(web, ["clerk-user"])

    assert (await _post(web, "/windows/1/login", {})).status_code == 200
    issued = await _post(web, "/tickets", {"service": "general", "citizen_id": "13812341234"})
    assert issued.status_code == 201, issued.text
    assert issued.json()["number"] == "A001"
    assert issued.json()["citizen"] == "138****1234"
    # The path the kiosk prints as a QR code opens the citizen's page.
    page = await web.client.get(issued.json()["citizen_path"])
    assert page.status_code == 200
    assert "A001" in page.text
    assert "13812341234" not in page.text

    waiting = await web.client.get("/api/v1/queue/services/general/waiting")
    assert [t["number"] for t in waiting.json()] == ["A001"]

    called = await _post(web, "/windows/1/next")
    assert called.status_code == 200, called.text
    assert called.json()["message"] == "请 A001 号到 1 号窗口"
    assert called.json()["why"]["picked"]["number"] == "A001"
    assert (await _post(web, "/windows/1/start")).status_code == 200
    done = await _post(web, "/windows/1/finish", {"outcome": "completed"})
    assert done.json()["ticket"]["state_label"] == "已办结"

    ticket = await web.client.get(f"/api/v1/queue/tickets/{issued.json()['id']}")
    assert [e["verb"] for e in ticket.json()["timeline"]] == ["issue", "call", "start", "finish"]
    empty = await _post(web, "/windows/1/next")
    assert empty.json()["message"] == "当前没有等候的群众"


async def test_refusals_come_back_with_a_status_and_a_chinese_reason(web: Hub) -> None:
    await web.sign_in(Role.CLERK)
    _hall(web, ["clerk-user"])
    await _post(web, "/windows/1/login", {})

    nothing = await _post(web, "/windows/1/start")
    assert nothing.status_code == 409
    assert nothing.json()["detail"] == "1 号窗口当前没有号码"
    assert (await _post(web, "/windows/9/next")).status_code == 404
    assert (await _post(web, "/windows/1/finish", {})).status_code == 422
    no_reason = await _post(web, "/windows/1/pause", {})
    assert no_reason.status_code == 422
    assert "暂停服务需要填写原因代码" in no_reason.json()["detail"]

    await _post(web, "/tickets", {"service": "general"})
    second = (await _post(web, "/tickets", {"service": "general"})).json()
    jump = await _post(web, f"/windows/1/call/{second['id']}", {})
    assert jump.status_code == 422
    assert "插队" in jump.json()["detail"]

    not_mine = await _post(web, "/windows/2/next")
    assert not_mine.status_code == 403
    assert not_mine.json()["detail"] == "您未在 2 号窗口登录，不能操作该窗口"

    await _post(web, "/windows/1/next")
    started = await _post(web, "/windows/1/start")
    again = await _post(web, "/windows/1/start")
    assert started.status_code == 200
    assert again.status_code == 409
    assert "当前为“办理中”" in again.json()["detail"]

    del web.client.headers["X-CSRF-Token"]
    assert (await _post(web, "/windows/1/finish", {"outcome": "completed"})).status_code == 403


async def test_only_staff_who_serve_windows_may_use_the_queue(web: Hub) -> None:
    assert (await web.client.get("/api/v1/queue/tickets/1")).status_code == 401
    await web.sign_in(Role.INTERPRETER)
    assert (await web.client.get("/api/v1/queue/tickets/1")).status_code == 403


async def test_a_caller_button_calls_the_next_ticket_at_its_window(mqtt_hub: Hub) -> None:
    hub = mqtt_hub
    await hub.add_user("wangfang", Role.CLERK)
    _hall(hub, ["wangfang"])
    with hub.state.sessions() as s:
        clerk = s.scalar(select(User.id).where(User.username == "wangfang"))
        assert clerk is not None
        kw: dict[str, Any] = {"bus": hub.state.queue_bus, "settings": hub.settings}
        service.login(s, window=1, clerk_id=clerk, actor=service.Actor(clerk), **kw)
        ticket = service.issue(s, service="general", channel=Channel.KIOSK, **kw)

    caller = await hub.device("caller-01", kind=DeviceKind.CALLER)
    await eventually(lambda: hub.state.bridge.snapshot("caller-01") is not None, what="birth")
    await hub.state.bridge.update_settings("caller-01", {"window": 1})  # the admin's binding
    press = Event(
        event_id="press-1",
        boot_id=caller.boot_id,
        seq=1,
        ts=utcnow(),
        data={"button": "next", "window": 2},  # a device's word on its window is ignored
    )
    topic = caller.topics.event(caller.id, "button")
    caller.publish_raw(topic, encode(press))
    caller.publish_raw(topic, encode(press))  # a replay must not call twice

    def called() -> bool:
        with hub.state.sessions() as s:
            return s.get(Ticket, ticket.id).state == "called"  # type: ignore[union-attr]

    await eventually(called, what="the ticket called by the button")
    await asyncio.sleep(0.3)
    with hub.state.sessions() as s:
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
    assert [e.verb for e in events] == ["issue", "call"]
    assert events[1].detail["device"] == "caller-01"
