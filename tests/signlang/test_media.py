"""A call's media between the terminal (this namespace) and a Python
interpreter peer (inside a network namespace), offer and answer handed over
directly: what the interpreter sees, hears and reads, and what the end of a
call leaves behind."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable

import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender

from signlang_terminal.media.adapt import MIN_FPS, AdaptationPolicy
from signlang_terminal.media.peer import AnswerPeer, TerminalPeer
from signlang_terminal.media.receive import AudioMeter, VideoMeter
from signlang_terminal.media.tracks import PacedVideoTrack
from tests.signlang.conftest import direct_call, interpreter_peer, terminal_peer
from tests.signlang.netns import NamespaceLoop

pytestmark = pytest.mark.timeout(90)


async def until(check: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def first_frame(peer: AnswerPeer | TerminalPeer) -> bool:
    return peer.video_in is not None and peer.video_in.first_at is not None


async def test_interpreter_sees_the_citizen_at_25_fps_within_150_ms(inside: NamespaceLoop) -> None:
    async with direct_call(inside, terminal_peer()) as (terminal, interpreter):
        await until(lambda: first_frame(interpreter) and first_frame(terminal), 10, "video")
        # The interpreter's only address is the namespace's: no loopback shortcut.
        assert f"IN IP4 {inside.net.ns_ip}" in interpreter.pc.localDescription.sdp
        await asyncio.sleep(4.0)
        seen = interpreter.video_in
        assert seen is not None
        summary = seen.summary()
        assert summary["size"] == (640, 480)
        assert summary["fps"] >= 23.0, summary
        assert summary["latency_p95_ms"] is not None
        assert summary["latency_p95_ms"] <= 150, summary
        assert seen.unreadable <= seen.frames // 20, summary  # the stamps survive VP8
        # The citizen sees the interpreter too, and both hear each other.
        assert terminal.video_in is not None
        assert terminal.video_in.fps() >= 20
        assert interpreter.audio_in is not None
        assert interpreter.audio_in.loud_frames > 50
        assert terminal.audio_in is not None
        assert terminal.audio_in.loud_frames > 50


async def test_text_goes_both_ways(inside: NamespaceLoop) -> None:
    async with direct_call(inside, terminal_peer()) as (terminal, interpreter):
        channel_open = lambda: terminal.channel is not None and interpreter.channel is not None  # noqa: E731
        await until(channel_open, 10, "the text channel")
        await until(lambda: terminal.send_text("请问办理居住证需要什么材料？"), 5, "open channel")
        await until(lambda: bool(interpreter.texts), 5, "the citizen's text")
        assert await inside.run(_send(interpreter, "请带身份证和租房合同"))
        await until(lambda: bool(terminal.texts), 5, "the interpreter's text")
        assert interpreter.texts == ["请问办理居住证需要什么材料？"]
        assert terminal.texts == ["请带身份证和租房合同"]

        # Plain text, one message per line: what looks like JSON is still text,
        # and a console that sends two lines in one message shows two lines.
        assert terminal.send_text('{"text": "括号"}')
        await until(lambda: len(interpreter.texts) == 2, 5, "the second citizen text")
        assert interpreter.texts[-1] == '{"text": "括号"}'
        await inside.run(_send_raw(interpreter, "一楼3号窗口\n请带好材料"))
        await until(lambda: len(terminal.texts) == 3, 5, "both lines")
        assert terminal.texts[-2:] == ["一楼3号窗口", "请带好材料"]


async def _send(peer: AnswerPeer, text: str) -> bool:
    return peer.send_text(text)


async def _send_raw(peer: AnswerPeer, message: str) -> None:
    assert peer.channel is not None
    peer.channel.send(message)


async def test_short_network_lowers_resolution_not_frame_rate(inside: NamespaceLoop) -> None:
    # max_loss below zero: every sample reports a network that falls short.
    policy = AdaptationPolicy(max_loss=-1.0, down_after=1)
    async with direct_call(inside, terminal_peer(policy)) as (terminal, interpreter):
        await until(lambda: first_frame(interpreter), 10, "video")
        seen = interpreter.video_in
        assert seen is not None
        await until(lambda: seen.size == (320, 240), 10, "the smallest picture")
        await asyncio.sleep(2.5)
        assert seen.size == (320, 240)
        assert seen.fps() >= MIN_FPS, seen.summary()
        assert policy.starved  # it says so when even the smallest picture is short
        assert [s.fps >= MIN_FPS for s in terminal.samples[-2:]] == [True, True]


async def test_a_slow_connection_start_keeps_the_full_picture(inside: NamespaceLoop) -> None:
    # The interpreter's side answers ICE 3 s late (its loop is busy): no
    # frames flow meanwhile, and that is not a shortage of CPU or network.
    policy = AdaptationPolicy()
    terminal = terminal_peer(policy)
    interpreter = await inside.run(_new_interpreter())
    try:
        answer = await inside.run(interpreter.answer(await terminal.offer()))
        busy = asyncio.ensure_future(inside.run(_block(3.0)))
        await terminal.accept_answer(answer)
        await busy
        await until(lambda: first_frame(interpreter), 15, "video")
        await asyncio.sleep(2.5)
        assert policy.level.label == "640×480", terminal.samples
        assert interpreter.video_in is not None
        assert interpreter.video_in.size == (640, 480)
    finally:
        await terminal.close()
        await inside.run(interpreter.close())


async def _block(seconds: float) -> None:
    time.sleep(seconds)  # noqa: ASYNC251 - the point: this loop (the interpreter's) is stuck


async def _new_interpreter() -> AnswerPeer:
    return interpreter_peer()  # on the namespace's loop: its sockets live there


async def test_ended_calls_leave_no_tracks_sockets_or_threads(inside: NamespaceLoop) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def one_call() -> TerminalPeer:
        async with direct_call(inside, terminal_peer()) as (terminal, interpreter):
            await until(lambda: first_frame(interpreter), 10, "video")
        return terminal

    await one_call()  # warm-up: codecs, executor threads, imports
    fds, threads = open_fds(), len(os.listdir("/proc/self/task"))
    for _ in range(5):
        terminal = await one_call()
        assert terminal.pc.connectionState == "closed"
        assert all(s.track is None or s.track.readyState == "ended"
                   for s in terminal.pc.getSenders())  # fmt: skip
    await asyncio.sleep(0.5)
    assert open_fds() <= fds + 2
    assert len(os.listdir("/proc/self/task")) <= threads + 2
    # Nothing of an ended call stays reachable (what would leak per call).
    del terminal
    assert await inside.run(_call_objects_alive()) == []
    assert await _call_objects_alive() == []


async def _call_objects_alive() -> list[str]:
    gc.collect()
    kinds = (RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, TerminalPeer, AnswerPeer,
             VideoMeter, AudioMeter, PacedVideoTrack)  # fmt: skip
    return [type(o).__name__ for o in gc.get_objects() if isinstance(o, kinds)]
