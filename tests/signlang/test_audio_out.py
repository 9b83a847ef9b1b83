"""The interpreter's voice on the terminal's loudspeaker (`Loudspeaker`, aplay):
played on ALSA's null device during a direct call, and a device that cannot be
opened (or no aplay at all) leaves the call running with the reason in the
state the heartbeat shows."""

from __future__ import annotations

import asyncio
import fractions
import shutil

import numpy as np
import pytest
from av import AudioFrame

from signlang_terminal.media.speaker import Loudspeaker
from tests.signlang.conftest import direct_call, terminal_peer
from tests.signlang.netns import NamespaceLoop
from tests.signlang.test_media import until

pytestmark = pytest.mark.timeout(90)

needs_aplay = pytest.mark.skipif(
    shutil.which("aplay") is None,
    reason="aplay is not installed: `make system-deps` (apt-get install alsa-utils)",
)


@needs_aplay
async def test_the_interpreter_is_heard_through_aplay(inside: NamespaceLoop) -> None:
    async with direct_call(inside, terminal_peer(speaker="null")) as (terminal, _interpreter):
        speaker = terminal.loudspeaker
        assert speaker.state == "idle"
        await until(lambda: speaker.bytes_written > 48_000 * 2 * 2, 15, "a second of sound")
        assert speaker.state == "playing"
        assert speaker.started
        assert speaker.problem is None
        assert (speaker.rate, speaker.channels) == (48_000, 2)  # aiortc's Opus decoder
        proc = speaker._proc
        assert proc is not None
        assert proc.poll() is None
    assert speaker.state == "stopped"
    assert proc.poll() is not None  # aplay ended with the call
    assert speaker.bytes_dropped < speaker.bytes_written // 10


@needs_aplay
async def test_a_bad_device_leaves_the_call_running(inside: NamespaceLoop) -> None:
    async with direct_call(inside, terminal_peer(speaker="no-such-pcm")) as (terminal, _):
        speaker = terminal.loudspeaker
        await until(lambda: speaker.problem is not None, 15, "the device's failure")
        assert speaker.state.startswith("no audio device (no-such-pcm)"), speaker.state
        assert "audio open error" in speaker.state or "Unknown PCM" in speaker.state
        audio, video = terminal.audio_in, terminal.video_in
        assert audio is not None
        assert video is not None
        heard, seen = audio.frames, video.frames
        await asyncio.sleep(1.0)
        assert audio.frames > heard + 20  # the track is still read
        assert video.frames > seen + 10  # and the call goes on
        assert speaker._proc is None


def _frame() -> AudioFrame:
    pcm = np.zeros((1, 960 * 2), np.int16)
    frame = AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
    frame.sample_rate = 48_000
    frame.pts, frame.time_base = 0, fractions.Fraction(1, 48_000)
    return frame


def test_no_aplay_is_reported_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    speaker = Loudspeaker("null")
    for _ in range(5):
        speaker.play(_frame())
    assert speaker.state.startswith("no audio output: aplay is not installed")
    assert not speaker.started
    assert speaker.bytes_written == 0
    assert sum("loudspeaker" in r.getMessage() for r in caplog.records) == 1


def test_no_speaker_plays_nothing() -> None:
    speaker = Loudspeaker(None)
    speaker.play(_frame())
    assert speaker.state == "off"
    assert not speaker.started


async def test_the_terminal_reports_the_loudspeaker_between_calls() -> None:
    from signlang_terminal.media.peer import TerminalPeer
    from signlang_terminal.media.tracks import SyntheticVideoTrack
    from signlang_terminal.terminal import Terminal
    from signlang_terminal.viewmodel import TerminalViewModel

    def make_peer(on_picture: object) -> TerminalPeer:
        return TerminalPeer(SyntheticVideoTrack(), None, speaker="no-such-pcm")

    terminal = Terminal(TerminalViewModel(), make_peer)
    assert terminal.speaker_state == "idle"
    terminal.peer = make_peer(None)
    assert terminal.speaker_state == "idle"
    terminal.peer.loudspeaker.problem = "no audio device (no-such-pcm): audio open error"
    await terminal._end_media()
    assert terminal.speaker_state == "no audio device (no-such-pcm): audio open error"
