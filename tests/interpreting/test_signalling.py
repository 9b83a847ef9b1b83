"""The signalling sockets of the real hub (uvicorn, Mosquitto, the database):
who may connect, what a bad message gets back, what is relayed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from broker.contract import DeviceKind
from broker.signalling import (
    Accept,
    Connected,
    Ended,
    Error,
    Hangup,
    Offer,
    Outcome,
    Queued,
    Request,
    Sdp,
    Status,
    terminal_token,
)
from central.auth.models import Role
from central.db import make_engine, make_sessionmaker
from central.interpreting.models import InterpRequest
from tests.central.fakes import FakeDevice, eventually
from tests.conftest import RunningBroker
from tests.interpreting.conftest import ServedHub, Side, served_hub


@pytest.fixture
async def hub(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> AsyncIterator[ServedHub]:
    async with served_hub(database_url, tmp_path, mosquitto, offer_timeout_s=5) as h:
        h.add_user("li", Role.INTERPRETER, "李娜")
        h.add_user("clerk", Role.CLERK)
        yield h


def request_row(hub: ServedHub, request_id: str) -> InterpRequest | None:
    engine = make_engine(hub.settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return session.get(InterpRequest, request_id)
    finally:
        engine.dispose()


async def answered_call(hub: ServedHub, console: Side, term: Side) -> str:
    await console.send(Status(status="available"))
    await term.send(Request())
    offer = await console.expect(Offer)
    await console.send(Accept(request_id=offer.request_id))
    assert (await term.expect(Connected)).interpreter == "李娜"
    await console.expect(Connected)
    return str(offer.request_id)


async def test_a_signlang_terminal_gets_its_token_in_its_retained_config(
    hub: ServedHub, mosquitto: RunningBroker
) -> None:
    device = await FakeDevice(mosquitto, "sign-01", kind=DeviceKind.SIGNLANG).start()
    try:
        await eventually(lambda: bool(device.configs), what="a config for the terminal")
        token = device.configs[-1].settings["signalling_token"]
        assert token == terminal_token(mosquitto.secret, "sign-01")
        async with hub.terminal("sign-01", token=token) as term:
            await term.send(Request())
            queued = await term.expect(Queued)
            # Nobody staffed: the wait cannot be told.
            assert (queued.position, queued.expected_wait_s) == (1, None)
    finally:
        await device.stop()


async def test_a_wrong_token_is_refused_with_a_reason(hub: ServedHub) -> None:
    async with hub.terminal("sign-01", token="0" * 40) as term:
        error = await term.expect(Error)
        assert "终端认证失败" in error.reason
        with pytest.raises(ConnectionClosed) as closed:
            await term.ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_bad_messages_get_a_reason_and_the_socket_stays_open(hub: ServedHub) -> None:
    async with hub.terminal("sign-01") as term:
        bads: list[tuple[Any, str]] = [
            ("not json", "消息格式不正确"),
            ({"type": "dance"}, "消息格式不正确"),
            ({"type": "request", "extra": 1}, "消息格式不正确"),
            (b"\x00\x01", "只接受 JSON 文本消息"),
            ("x" * 70_000, "消息过大"),
            (Sdp(request_id="nope", sdp_type="offer", sdp="v=0"), "请求编号"),
            (Hangup(request_id="nope"), "请求编号"),
        ]
        for bad, reason in bads:
            if isinstance(bad, bytes):
                await term.ws.send(bad)
            else:
                await term.send(bad)
            assert reason in (await term.expect(Error)).reason, bad
        await term.send(Request())
        queued = await term.expect(Queued)
        await term.send(Request())
        assert "已有进行中" in (await term.expect(Error)).reason
        await term.send(Sdp(request_id=queued.request_id, sdp_type="offer", sdp="v=0"))
        assert "尚未接听" in (await term.expect(Error)).reason


async def test_only_a_signed_in_interpreter_opens_the_console(hub: ServedHub) -> None:
    url = f"{hub.ws_url}/api/v1/interpreting/console/ws"
    async with connect(url) as ws:
        assert "请先登录" in (await Side(ws).expect(Error)).reason
    async with hub.console("clerk") as clerk:
        assert "只有手语翻译员" in (await clerk.expect(Error)).reason
    cookie = await hub.cookie("li")
    headers = {"Cookie": cookie, "Origin": "http://evil.example"}
    async with connect(url, additional_headers=headers) as ws:
        assert "来源页面" in (await Side(ws).expect(Error)).reason


async def test_a_call_relays_sdp_and_hangup_and_records_the_outcome(hub: ServedHub) -> None:
    async with hub.console("li") as console, hub.terminal("sign-01") as term:
        call = await answered_call(hub, console, term)
        await term.send(Sdp(request_id=call, sdp_type="offer", sdp="v=0 offer"))
        assert (await console.expect(Sdp)).sdp == "v=0 offer"
        await console.send(Sdp(request_id=call, sdp_type="answer", sdp="v=0 answer"))
        assert (await term.expect(Sdp)).sdp == "v=0 answer"
        await console.send(Sdp(request_id=call, sdp_type="offer", sdp="v=0"))
        assert "answer" in (await console.expect(Error)).reason

        await console.send(Hangup(request_id=call, reason="服务完成"))
        assert (await term.expect(Hangup)).reason == "服务完成"
        assert (await term.expect(Ended)).request_id == call
        assert (await console.expect(Ended)).request_id == call
        await console.send(Outcome(request_id=call, outcome="bogus"))
        assert "未知的结果代码" in (await console.expect(Error)).reason
        await console.send(Outcome(request_id=call, outcome="served", note="办理营业执照"))
        await asyncio.sleep(0.2)
        await hub.service.recorder.flush()
    row = request_row(hub, call)
    assert row is not None
    assert (row.state, row.outcome, row.note) == ("ended", "served", "办理营业执照")
    assert row.answered_at is not None
    assert row.ended_at is not None


async def test_a_console_reload_keeps_the_call(hub: ServedHub) -> None:
    cookie = await hub.cookie("li")
    async with hub.terminal("sign-01") as term:
        async with hub.console("li", cookie) as console:
            call = await answered_call(hub, console, term)
        # The page reloads: a new socket of the same interpreter.
        async with hub.console("li", cookie) as console:
            assert (await console.expect(Connected)).request_id == call
            # The terminal hears Connected again and makes a fresh WebRTC offer.
            assert (await term.expect(Connected)).request_id == call
            await term.send(Sdp(request_id=call, sdp_type="offer", sdp="v=0 again"))
            assert (await console.expect(Sdp)).sdp == "v=0 again"


async def test_a_terminal_that_goes_away_abandons_or_ends_its_request(hub: ServedHub) -> None:
    async with hub.console("li") as console:
        async with hub.terminal("sign-01") as term:
            call = await answered_call(hub, console, term)
        assert (await console.expect(Hangup)).reason == "终端断开"
        assert (await console.expect(Ended)).request_id == call
        await console.send(Outcome(request_id=call, outcome="tech"))
        await console.send(Status(status="break"))
        async with hub.terminal("sign-02") as term:
            await term.send(Request())
            waiting = await term.expect(Queued)
        await asyncio.sleep(0.2)
        await hub.service.recorder.flush()
    row = request_row(hub, waiting.request_id)
    assert row is not None
    assert row.state == "abandoned"
    assert row.end_reason == "终端断开"
    ended = request_row(hub, call)
    assert ended is not None
    assert (ended.state, ended.outcome) == ("ended", "tech")
