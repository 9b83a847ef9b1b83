"""A backlog of calls is shortened as docs/display.md says: a call others wait
behind is said once, a call that waited longer than ``max_wait_s`` is skipped
and reported so, a ticket called again is said once; the rest keep their order
and never overlap. A fake speech engine (short tones) and a fake sound card on
a fake clock: no espeak-ng, no waiting."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from display.voice.clips import RATE, write_wav
from display.voice.compose import CHIME, Composition
from display.voice.settings import VoiceSettings
from display.voice.speaker import VoiceSpeaker
from edge.ports.speaker import Announcement, AnnouncementReport


class ToneTts:
    """Every clip a 50 ms tone: compose works, nothing is spoken."""

    key = "tone"

    def render(self, text: str, wav: Path) -> None:
        t = np.arange(int(RATE * 0.05)) / RATE
        write_wav(wav, (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16))


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def advance(self, s: float) -> None:
        with self._lock:
            self.t += s


class FakeCard:
    """Plays a call by moving the fake clock on by its length (a call of this
    engine lasts 16 s, as a real one does, whatever its samples). The first
    call holds until `release`, so a test can queue calls behind it."""

    def __init__(self, clock: Clock, *, call_s: float = 16.0) -> None:
        self.clock = clock
        self.call_s = call_s
        self.played: list[tuple[str, float, float, int]] = []  # name, start, end, sayings
        self.chimed: list[bool] = []  # each call began with the chime
        self.gate = threading.Event()

    def play(self, call: Composition, name: str, started: Callable[[], None]) -> None:
        self.gate.wait(10)
        start = self.clock()
        started()
        sayings = call.words.count("请")
        self.chimed.append(call.words[0] == CHIME)
        self.clock.advance(self.call_s * sayings / 2)  # one saying: half a call
        self.played.append((name, start, self.clock(), sayings))

    def problem(self) -> str | None:
        return None

    def stop(self) -> None:
        self.gate.set()


class Reports:
    def __init__(self) -> None:
        self.items: list[AnnouncementReport] = []
        self._cond = threading.Condition()

    def __call__(self, report: AnnouncementReport) -> None:
        with self._cond:
            self.items.append(report)
            self._cond.notify_all()

    def wait(self, n: int) -> list[AnnouncementReport]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= n, 10), self.items
            return list(self.items)


def call(ticket: str, window: int) -> Announcement:
    return Announcement(ticket, window, f"{window}号窗口", False, datetime.now(UTC))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(
    tmp_path: Path, clock: Clock, **settings: object
) -> tuple[VoiceSpeaker, FakeCard, Reports]:
    card = FakeCard(clock)
    sp = VoiceSpeaker(VoiceSettings(cache_dir=tmp_path / "clips", **settings), tmp_path,
                      output=card, tts=ToneTts(), monotonic=clock)  # fmt: skip
    reports = Reports()
    sp.on_report(reports)
    return sp, card, reports


def test_a_burst_is_said_once_each_and_calls_that_waited_too_long_are_skipped(
    tmp_path: Path, clock: Clock
) -> None:
    sp, card, reports = make(tmp_path, clock)  # defaults: repeat 2, busy 1, max wait 60 s
    burst = [(f"A{i:03d}", i) for i in range(1, 11)]  # ten windows call at once
    for ticket, window in burst:
        sp.announce(call(ticket, window))
    card.gate.set()
    got = reports.wait(10)
    sp.close()

    # Order kept: one report per call, in calling order.
    assert [r.ticket for r in got] == [t for t, _ in burst]
    status = {r.ticket: r.status for r in got}
    # Without the policy the tenth call would be heard 144 s late (nine 16 s
    # calls). With it: each said once (8 s) while others wait, so calls start
    # at 0, 8, 16, ... 56 s; the ninth would start at 64 s > 60 s: skipped.
    played = [t for t, s in status.items() if s == "played"]
    assert played == [f"A{i:03d}" for i in range(1, 9)]
    assert [status["A009"], status["A010"]] == ["skipped", "skipped"]
    skipped = [r for r in got if r.status == "skipped"]
    assert all("waited 64 s" in (r.reason or "") for r in skipped)
    assert all(r.first_sample_at is None and r.finished_at is None for r in skipped)
    # Each said once: others waited behind every one of them.
    assert [sayings for *_, sayings in card.played] == [1] * 8
    assert card.chimed == [True] * 8  # the chime before each (the default)
    # Never overlapping, and no call heard more than 60 s after it was queued.
    for (_n, _s, end, _k), (_n2, start, _e, _k2) in zip(card.played, card.played[1:], strict=False):
        assert start >= end
    assert max(start for _n, start, _e, _k in card.played) - 1000.0 <= 60


def test_without_a_backlog_a_call_is_said_twice_and_nothing_is_skipped(
    tmp_path: Path, clock: Clock
) -> None:
    sp, card, reports = make(tmp_path, clock)
    card.gate.set()
    for ticket, window in (("B001", 3), ("B002", 4)):
        sp.announce(call(ticket, window))
        reports.wait(len(reports.items) + 1)
        clock.advance(30)  # the next call comes when the speaker is idle
    sp.close()
    assert [(r.ticket, r.status) for r in reports.items] == [("B001", "played"), ("B002", "played")]
    assert [sayings for *_, sayings in card.played] == [2, 2]


def test_a_ticket_called_again_while_waiting_is_said_once_at_its_new_place(
    tmp_path: Path, clock: Clock
) -> None:
    sp, card, reports = make(tmp_path, clock)
    for ticket, window in (("C001", 1), ("C002", 2), ("C003", 3), ("C002", 2)):  # 重呼 C002
        sp.announce(call(ticket, window))
    card.gate.set()
    got = reports.wait(4)
    sp.close()
    assert [(r.ticket, r.status) for r in got] == [
        ("C001", "played"), ("C002", "skipped"), ("C003", "played"), ("C002", "played"),
    ]  # fmt: skip
    assert got[1].reason == "called again: the newer call is announced"
    assert [name for name, *_ in card.played] == ["C001-w1", "C003-w3", "C002-w2"]


def test_max_wait_zero_never_skips(tmp_path: Path, clock: Clock) -> None:
    sp, card, reports = make(tmp_path, clock, max_wait_s=0, busy_repeat=2)
    for i in range(1, 7):
        sp.announce(call(f"D{i:03d}", i))
    card.gate.set()
    got = reports.wait(6)
    sp.close()
    assert [r.status for r in got] == ["played"] * 6
    assert [sayings for *_, sayings in card.played] == [2] * 6  # the old behaviour


def test_a_skipped_report_is_an_event_the_hub_can_tell_from_a_failure(
    tmp_path: Path, clock: Clock
) -> None:
    sp, card, reports = make(tmp_path, clock, max_wait_s=5)
    sp.announce(call("E001", 1))
    sp.announce(call("E002", 2))
    card.gate.set()
    got = reports.wait(2)
    sp.close()
    event = got[1].as_event()
    assert event["status"] == "skipped"
    assert event["first_sample_at"] is None
    assert "max_wait_s 5" in event["reason"]
    assert sp.state == "ok"  # a backlog is not a broken speaker


def test_busy_repeat_may_not_exceed_repeat() -> None:
    with pytest.raises(ValueError, match="busy_repeat"):
        VoiceSettings(repeat=1, busy_repeat=2)


def test_the_hubs_voice_settings_apply_from_the_next_call_and_a_bad_pair_changes_nothing(
    tmp_path: Path, clock: Clock
) -> None:
    sp, card, reports = make(tmp_path, clock)  # the device's file: repeat 2, chime on
    assert sp.tune({"repeat": 3, "busy_repeat": 1, "chime": False}) is None
    sp.announce(call("F001", 1))
    card.gate.set()
    (first,) = reports.wait(1)
    assert first.status == "played"
    assert card.played[-1][3] == 3  # said three times, as the hub asked
    assert card.chimed == [False]

    # busy_repeat above repeat: refused as a whole, the last good settings stay.
    refused = sp.tune({"repeat": 1, "busy_repeat": 2})
    assert refused is not None
    assert "busy_repeat" in refused
    assert (sp.settings.repeat, sp.settings.chime) == (3, False)

    # Back to the device's own: the hub cleared its settings.
    assert sp.tune({}) is None
    sp.announce(call("F002", 2))
    reports.wait(2)
    sp.close()
    assert card.played[-1][3] == 2
    assert card.chimed == [False, True]
