"""The window workstation over HTTP, as the clerk's browser drives it: each
button posts a verb and gets the window's fresh panel back, with the
refusal's Chinese reason when the engine said no."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from central.auth.models import Role
from central.queueing.callers import CallerButtons
from tests.central.conftest import Hub, running_hub
from tests.queueing.hall import Hall
from tests.workstation.support import MORNING, certify, hall_of

CLERK = "clerk-user"  # what `Hub.sign_in(Role.CLERK)` creates


@pytest.fixture
async def desk(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Hub, Hall]]:
    """A hub without a broker, a clerk signed in to the web, certified for A and B."""
    async with running_hub(
        database_url=database_url, tmp_path=tmp_path, broker=None, clock_start=MORNING
    ) as hub:
        await hub.sign_in(Role.CLERK)
        hall = await asyncio.to_thread(hall_of, hub)
        await asyncio.to_thread(certify, hall, CLERK, ["general", "estate"])
        yield hub, hall


async def act(hub: Hub, verb: str, window: int = 1, **form: str) -> httpx.Response:
    response = await hub.client.post(f"/workstation/{window}/act/{verb}", data=form)
    assert response.status_code == 200, response.text
    return response


async def test_a_clerk_signs_in_calls_starts_and_finishes_from_the_page(
    desk: tuple[Hub, Hall],
) -> None:
    hub, hall = desk
    choose = await hub.client.get("/workstation")
    assert "进入 1 号窗口" in choose.text
    page = await hub.client.get("/workstation/1")
    assert page.status_code == 200
    for shown in ("F1", "叫号", "F4", "办结", "F12", "签退", "未登录"):
        assert shown in page.text, shown
    assert 'hx-trigger="every 2s"' in page.text

    signed = await act(hub, "login")
    assert "已在 1 号窗口签到" in signed.text
    assert "服务中" in signed.text
    # Signed in: the window list sends the clerk straight to their window.
    again = await hub.client.get("/workstation", follow_redirects=False)
    assert again.headers["location"] == "/workstation/1"

    await asyncio.to_thread(hall.issue, "general")
    await asyncio.to_thread(hall.issue, "estate")
    panel = (await hub.client.get("/workstation/1/panel")).text
    assert 'data-testid="waiting-total">2<' in panel

    called = await act(hub, "next")
    assert "请 A001 号到 1 号窗口" in called.text
    assert 'data-testid="current-number">A001<' in called.text
    assert 'data-testid="current-state">已叫号<' in called.text
    started = await act(hub, "start")
    assert 'data-testid="current-state">办理中<' in started.text
    done = await act(hub, "finish", outcome="accepted")
    assert "A001 已办结（受理（后续审批）），请群众评价" in done.text
    assert 'data-testid="current-number">—<' in done.text
    assert 'data-testid="last-rating">待评价<' in done.text
    ticket = await asyncio.to_thread(hall.ticket, 1)
    assert (ticket.state, ticket.outcome) == ("done", "accepted")


async def test_refusals_show_the_chinese_reason_and_change_nothing(
    desk: tuple[Hub, Hall],
) -> None:
    hub, hall = desk
    closed = await act(hub, "next")
    assert "未执行：您未在 1 号窗口登录，不能操作该窗口" in closed.text
    await act(hub, "login")
    empty = await act(hub, "next")
    assert "未执行：当前没有等候的群众" in empty.text

    await asyncio.to_thread(hall.issue, "general")
    await act(hub, "next")
    before = await asyncio.to_thread(hall.snapshot)
    refusals: dict[str, tuple[dict[str, str], str]] = {
        "transfer": ({"transfer_service": "estate"}, "未执行：转办需要填写原因代码"),
        "logout": ({}, "未执行：请先处理当前号码 A001（办结、过号或暂挂）再退出"),
        "recall": ({}, "未执行：距上次呼叫不足 15 秒"),
        "finish": ({}, "未执行：无法办结"),
    }
    for verb, (form, reason) in refusals.items():
        response = await hub.client.post(f"/workstation/1/act/{verb}", data=form)
        assert reason in response.text, (verb, response.text[-400:])
    other = await act(hub, "next", window=2)
    assert "未执行：您未在 2 号窗口登录，不能操作该窗口" in other.text
    unknown = await act(hub, "call", call_number="a099")
    assert "未执行：" in unknown.text
    assert await asyncio.to_thread(hall.snapshot) == before


async def test_the_exceptions_park_transfer_no_show_pause_and_specific_call(
    desk: tuple[Hub, Hall],
) -> None:
    hub, hall = desk
    await act(hub, "login")
    for _ in range(3):
        await asyncio.to_thread(hall.issue, "general")
    await act(hub, "next")  # A001
    parked = await act(hub, "park", park_reason="copy_documents")
    assert "A001 已暂挂" in parked.text
    assert "恢复等候" in parked.text  # the parked list offers it back

    # A003 out of order needs a reason; with one it is called.
    refused = await act(hub, "call", call_number="a003")
    assert "未执行：指定叫号（插队）需要填写原因代码" in refused.text
    called = await act(hub, "call", call_number="a003", call_reason="returning_citizen")
    assert "请 A003 号到 1 号窗口" in called.text
    await act(hub, "start")
    moved = await act(hub, "transfer", transfer_service="estate", transfer_reason="wrong_service")
    assert "A003 已转办，新号码 B001" in moved.text

    unparked = await act(hub, "unpark", ticket_id="1")
    assert "A001 已恢复等候" in unparked.text
    await act(hub, "next")
    gone = await act(hub, "no_show", noshow_reason="citizen_left")
    assert "已过号" in gone.text

    paused = await act(hub, "pause", pause_reason="meeting")
    assert "暂停服务（会议）" in paused.text
    assert "1 号窗口已暂停（会议），请先恢复服务" in (await act(hub, "next")).text
    assert "已恢复服务" in (await act(hub, "resume")).text
    assert "已从 1 号窗口签退" in (await act(hub, "logout")).text


async def test_a_caller_press_at_the_same_window_shows_on_the_next_poll(
    desk: tuple[Hub, Hall],
) -> None:
    hub, hall = desk
    await act(hub, "login")
    await asyncio.to_thread(hall.issue, "general")
    state = hub.state
    # The hub's caller handler, as the MQTT bridge runs it for a press of caller-07.
    caller = CallerButtons(
        bridge=state.bridge, sessions=state.sessions, bus=state.queue_bus,
        settings=hub.settings, clock=state.clock, window_of=lambda _s, _d: 1,
    )  # fmt: skip
    press = await asyncio.to_thread(caller.press, "caller-07", {"button": "next"})
    assert press.ok
    panel = (await hub.client.get("/workstation/1/panel")).text
    assert 'data-testid="current-number">A001<' in panel
    # …and the page's own press works on the same ticket.
    assert 'data-testid="current-state">办理中<' in (await act(hub, "start")).text
    press = await asyncio.to_thread(caller.press, "caller-07", {"button": "finish"})
    assert press.ok
    panel = (await hub.client.get("/workstation/1/panel")).text
    assert 'data-testid="current-number">—<' in panel


async def test_only_window_staff_open_the_workstation(desk: tuple[Hub, Hall]) -> None:
    hub, _ = desk
    await hub.add_user("interp", Role.INTERPRETER)
    await hub.client.post("/api/v1/auth/logout")
    login = await hub.client.post(
        "/api/v1/auth/login", json={"username": "interp", "password": "correct-horse-battery"}
    )
    hub.client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    assert (await hub.client.get("/workstation/1")).status_code == 403
    assert (await hub.client.post("/workstation/1/act/next")).status_code == 403
