"""A whole call through the real hub signalling: the terminal's controller
(button, WebSocket, aiortc peer with the synthetic camera) in this namespace,
an aiortc stand-in for the interpreter's console whose peer lives inside a
network namespace. What the citizen sees on the screen, what the interpreter
receives, and what is left after the call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from broker.signalling import Ended, Hangup, terminal_token
from central.auth.models import Role
from signlang_terminal.media.peer import TerminalPeer
from signlang_terminal.signalling import terminal_url
from signlang_terminal.standin import InterpreterStandIn, console_cookie
from signlang_terminal.terminal import PeerFactory, Terminal
from signlang_terminal.viewmodel import ENDED_SHOW_S, Phase, TerminalViewModel
from tests.central.conftest import PASSWORD
from tests.interpreting.conftest import ServedHub, served_hub
from tests.signlang.conftest import terminal_peer
from tests.signlang.netns import NamespaceLoop

pytestmark = pytest.mark.timeout(120)
DEVICE = "signlang-01"


async def until(check: Callable[[], Any], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def hall(
    tmp_path: Path,
    clock: Callable[[], float] = time.monotonic,
    *,
    ask_consent: bool = False,
    make_peer: PeerFactory | None = None,
    **terminal_kwargs: Any,
) -> AsyncIterator[tuple[ServedHub, Terminal]]:
    """The served hub and a terminal online at it (`terminal_kwargs`: the
    recording store and report sink)."""
    async with served_hub(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path) as hub:
        vm = TerminalViewModel(clock=clock, ask_consent=ask_consent)
        peers = make_peer or (lambda on_picture: terminal_peer(on_picture=on_picture))
        terminal = Terminal(vm, peers, **terminal_kwargs)
        secret = hub.settings.hub.secret_key.get_secret_value()
        terminal.connect(terminal_url(hub.url, DEVICE, terminal_token(secret, DEVICE)))
        try:
            await until(lambda: vm.phase is Phase.IDLE, 10, "the terminal online")
            yield hub, terminal
        finally:
            await terminal.stop()


@asynccontextmanager
async def interpreter(hub: ServedHub, inside: NamespaceLoop) -> AsyncIterator[InterpreterStandIn]:
    await asyncio.to_thread(hub.add_user, "lina", Role.INTERPRETER, "李娜")
    cookie = await console_cookie(hub.url, "lina", PASSWORD)
    standin = InterpreterStandIn(hub.url, cookie, peer_runner=inside.run)
    await standin.start()
    try:
        yield standin
    finally:
        await standin.stop()


async def test_citizen_presses_and_signs_with_the_interpreter(
    tmp_path: Path, inside: NamespaceLoop
) -> None:
    async with hall(tmp_path) as (hub, terminal), interpreter(hub, inside) as lina:
        vm = terminal.vm
        await asyncio.sleep(0.2)  # the interpreter's "available" is in
        vm.press_call()
        await until(lambda: vm.phase is Phase.IN_CALL, 10, "the call on screen")
        assert vm.citizen().headline == "翻译员 李娜"
        assert vm.clerk().status == "通话中"
        times = terminal.times
        assert times.pressed is not None
        assert times.first_frame is not None
        assert times.first_frame - times.pressed <= 3.0  # button to first picture

        await asyncio.sleep(3.0)
        peer = lina.peer
        assert peer is not None
        assert peer.video_in is not None
        seen = await inside.run(_summary(peer))
        assert seen["size"] == (640, 480)
        assert seen["fps"] >= 23.0, seen
        assert seen["latency_p95_ms"] is not None
        assert seen["latency_p95_ms"] <= 150, seen

        # Text both ways: typed by the interpreter, shown on both screens; and back.
        assert await lina.send_text("您好，我是翻译员李娜")
        await until(lambda: vm.clerk().lines, 5, "text on the clerk screen")
        assert vm.clerk().lines[-1].text == "您好，我是翻译员李娜"
        assert vm.type_text("谢谢")
        await until(lambda: peer.texts, 5, "the citizen's text at the interpreter")
        assert peer.texts == ["谢谢"]

        call_peer = terminal.peer
        assert call_peer is not None
        vm.press_end()
        await until(lambda: lina.peer is None, 5, "the interpreter told")
        assert any(isinstance(m, Hangup) for m in lina.received)
        await until(lambda: any(isinstance(m, Ended) for m in lina.received), 5, "ended")
        await until(lambda: call_peer.pc.connectionState == "closed", 5, "media closed")
        assert terminal.peer is None
        assert vm.citizen().headline == "您已结束通话"


async def test_the_call_comes_back_when_the_interpreter_console_reloads(
    tmp_path: Path, inside: NamespaceLoop
) -> None:
    async with hall(tmp_path) as (hub, terminal), interpreter(hub, inside) as lina:
        vm = terminal.vm
        await asyncio.sleep(0.2)
        vm.press_call()
        await until(lambda: vm.phase is Phase.IN_CALL, 10, "the call on screen")
        first = terminal.peer
        # A page reload: the browser's peer connection and socket are simply gone.
        await lina.close_peer()
        await lina._ws.close()
        cookie = await console_cookie(hub.url, "lina", PASSWORD)
        again = InterpreterStandIn(hub.url, cookie, peer_runner=inside.run)
        await again.start()
        try:
            await until(lambda: again.peer is not None, 10, "a new offer to the reloaded console")
            await until(lambda: terminal.times.first_frame is not None, 10, "pictures again")
            assert vm.phase is Phase.IN_CALL
            assert terminal.peer is not first
            deadline = time.monotonic() + 5  # the text channel opens just after the video
            while not await again.send_text("我回来了"):
                assert time.monotonic() < deadline, "the text channel never opened"
                await asyncio.sleep(0.1)
            await until(lambda: vm.clerk().lines, 5, "text after the reload")
            assert vm.clerk().lines[-1].text == "我回来了"
        finally:
            await again.stop()


async def _summary(peer: Any) -> dict[str, Any]:
    return dict(peer.video_in.summary())


async def test_waiting_citizen_sees_position_until_an_interpreter_is_free(
    tmp_path: Path, inside: NamespaceLoop
) -> None:
    async with hall(tmp_path) as (hub, terminal):
        vm = terminal.vm
        vm.press_call()
        await until(lambda: vm.phase is Phase.QUEUED, 5, "queued")
        assert vm.citizen().detail.startswith("您是下一位")
        assert vm.citizen().cancel_button == "取消呼叫"
        async with interpreter(hub, inside):
            await until(lambda: vm.phase is Phase.IN_CALL, 10, "the call")


async def test_interpreter_hanging_up_ends_the_call_on_the_terminal(
    tmp_path: Path, inside: NamespaceLoop
) -> None:
    async with hall(tmp_path) as (hub, terminal), interpreter(hub, inside) as lina:
        vm = terminal.vm
        await asyncio.sleep(0.2)
        vm.press_call()
        await until(lambda: vm.phase is Phase.IN_CALL, 10, "the call")
        call_peer: TerminalPeer | None = terminal.peer
        assert call_peer is not None
        await lina.hang_up()
        await until(lambda: vm.phase is Phase.ENDED, 5, "the end on screen")
        assert vm.citizen().headline == "翻译员已结束通话"
        await until(lambda: call_peer.pc.connectionState == "closed", 5, "media closed")


async def test_citizen_who_calls_again_at_once_gets_the_second_call(
    tmp_path: Path, inside: NamespaceLoop
) -> None:
    # The hub's `Ended` for the first call arrives after the second press:
    # it must not end the new request (the screen would sit on 通话已结束 while
    # the hub connects an interpreter to nobody).
    skipped = [0.0]
    clock = lambda: time.monotonic() + skipped[0]  # noqa: E731
    async with hall(tmp_path, clock) as (hub, terminal), interpreter(hub, inside) as lina:
        vm = terminal.vm
        await asyncio.sleep(0.2)
        vm.press_call()
        await until(lambda: vm.phase is Phase.IN_CALL, 10, "the first call")
        first = terminal.request_id
        vm.press_end()
        skipped[0] += ENDED_SHOW_S  # the 您已结束通话 page has timed out
        vm.tick()
        assert vm.phase is Phase.IDLE
        vm.press_call()  # before the hub has answered the hang-up
        await until(lambda: vm.phase is Phase.IN_CALL, 10, "the second call on screen")
        assert terminal.request_id != first
        assert lina.calls == 2
