"""The speaker plays calls one after another and reports each: played, or failed
with a reason a hall manager can act on."""

from __future__ import annotations

import itertools
import json
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from anxin.settings import PortsSettings, SimPort
from display.voice.clips import read_wav
from display.voice.outputs import AplayOutput, FolderOutput
from display.voice.settings import VoiceSettings
from display.voice.speaker import VoiceSpeaker
from edge.ports.factory import build_ports
from edge.ports.speaker import Announcement, AnnouncementReport, SimSpeaker

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed: `make system-deps` (apt-get install espeak-ng)",
)
needs_aplay = pytest.mark.skipif(
    shutil.which("aplay") is None,
    reason="aplay is not installed: `make system-deps` (apt-get install alsa-utils)",
)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")  # shared: clips render once per module


class Reports:
    def __init__(self) -> None:
        self.items: list[AnnouncementReport] = []
        self._cond = threading.Condition()

    def __call__(self, report: AnnouncementReport) -> None:
        with self._cond:
            self.items.append(report)
            self._cond.notify_all()

    def wait(self, n: int, timeout: float = 30) -> list[AnnouncementReport]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= n, timeout), self.items
            return list(self.items)


def speaker(
    tmp_path: Path, clip_dir: Path, output: object, **settings: object
) -> tuple[VoiceSpeaker, Reports]:
    s = VoiceSettings(cache_dir=clip_dir, **settings)
    sp = VoiceSpeaker(s, tmp_path, output=output)  # type: ignore[arg-type]
    reports = Reports()
    sp.on_report(reports)
    return sp, reports


def call(ticket: str, window: int = 5) -> Announcement:
    return Announcement(ticket, window, f"{window}号窗口", False, datetime.now(UTC))


@needs_espeak
def test_queued_calls_play_in_order_and_never_overlap(tmp_path: Path, clip_dir: Path) -> None:
    out = FolderOutput(tmp_path / "played", pace=0.05)  # a sound card at 20x speed
    sp, reports = speaker(tmp_path, clip_dir, out, repeat=1)
    t0 = time.perf_counter()
    for i, window in enumerate((5, 3, 8, 1, 12)):  # five windows call within a second
        sp.announce(call(f"A{i + 1:03d}", window))
    assert time.perf_counter() - t0 < 0.1  # announce does not wait for the sound
    got = reports.wait(5)
    sp.close()
    assert [(r.ticket, r.status) for r in got] == [(f"A{i:03d}", "played") for i in range(1, 6)]
    for r in got:
        assert r.first_sample_at is not None
        assert r.finished_at is not None
        assert r.queued_at <= r.first_sample_at < r.finished_at
    for earlier, later in itertools.pairwise(got):
        assert earlier.finished_at is not None
        assert later.first_sample_at is not None
        assert later.first_sample_at >= earlier.finished_at
    assert [p.name for p in out.played] == [
        "0001-A001-w5.wav", "0002-A002-w3.wav", "0003-A003-w8.wav",
        "0004-A004-w1.wav", "0005-A005-w12.wav",
    ]  # fmt: skip


@needs_espeak
def test_each_played_call_lasts_as_long_as_its_wav(tmp_path: Path, clip_dir: Path) -> None:
    out = FolderOutput(tmp_path / "played", pace=0.1)
    sp, reports = speaker(tmp_path, clip_dir, out, repeat=2)
    sp.announce(call("B007", 2))
    (r,) = reports.wait(1)
    sp.close()
    samples, rate = read_wav(out.played[0])
    length = timedelta(seconds=samples.size / rate * 0.1)
    assert r.finished_at is not None
    assert r.first_sample_at is not None
    assert r.finished_at - r.first_sample_at >= length
    assert samples.size / rate > 8  # chime + the sentence twice: several seconds


@needs_espeak
@needs_aplay
def test_without_a_sound_card_the_call_is_reported_failed(tmp_path: Path, clip_dir: Path) -> None:
    sp, reports = speaker(tmp_path, clip_dir, AplayOutput("hw:99,0", tmp_path))  # no card 99
    sp.announce(call("A012"))
    (r,) = reports.wait(1)
    sp.close()
    assert r.status == "failed"
    assert r.reason is not None
    assert r.reason.startswith("no audio device")
    assert r.first_sample_at is None
    assert r.finished_at is None
    assert sp.state.startswith("failed: no audio device")


@needs_espeak
@needs_aplay
def test_aplay_reports_when_the_sound_began(tmp_path: Path, clip_dir: Path) -> None:
    """ALSA's null device: aplay's whole path runs, with no hardware."""
    sp, reports = speaker(tmp_path, clip_dir, AplayOutput("null", tmp_path))
    sp.announce(call("A012"))
    (r,) = reports.wait(1)
    sp.close()
    assert (r.status, r.reason) == ("played", None)
    assert r.first_sample_at is not None
    assert r.finished_at is not None
    assert r.queued_at <= r.first_sample_at <= r.finished_at


def test_without_espeak_every_call_is_reported_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no espeak-ng on the PATH
    sp, reports = speaker(tmp_path, tmp_path / "clips", FolderOutput(tmp_path / "out", pace=0))
    sp.announce(call("A012"))
    (r,) = reports.wait(1)
    sp.close()
    assert r.status == "failed"
    assert r.reason == "espeak-ng is not installed (apt-get install espeak-ng)"
    assert sp.state == f"failed: {r.reason}"
    assert not (tmp_path / "out").exists()


@needs_espeak
def test_call_to_first_sample_is_fast_with_warm_clips(tmp_path: Path, clip_dir: Path) -> None:
    out = FolderOutput(tmp_path / "played", pace=0)
    sp, reports = speaker(tmp_path, clip_dir, out)
    sp.announce(call("A000"))  # warms: clips are rendered before the first call plays
    reports.wait(1)
    sp.announce(call("A012"))
    r = reports.wait(2)[1]
    sp.close()
    assert r.first_sample_at is not None
    latency = r.first_sample_at - r.called_at
    assert latency < timedelta(milliseconds=300), latency  # the target


def test_report_is_a_json_event() -> None:
    t = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    report = AnnouncementReport("A012", 5, "failed", "no audio device", t, t, None, None)
    event = json.loads(json.dumps(report.as_event()))
    assert event == {
        "ticket": "A012",
        "window": 5,
        "status": "failed",
        "reason": "no audio device",
        "called_at": "2026-03-02T09:30:00+00:00",
        "queued_at": "2026-03-02T09:30:00+00:00",
        "first_sample_at": None,
        "finished_at": None,
    }


def test_the_device_settings_choose_the_speaker(tmp_path: Path) -> None:
    voice = PortsSettings(speaker=VoiceSettings(cache_dir=tmp_path / "clips"))
    ports = build_ports(["speaker"], voice, sim=True, data_dir=tmp_path)
    try:
        assert isinstance(ports.speaker, VoiceSpeaker)
        assert isinstance(ports.speaker.output, FolderOutput)  # --sim fakes the sound card only
        assert ports.speaker.output.folder == tmp_path / "played"
    finally:
        ports.close()
    real = build_ports(["speaker"], voice, sim=False, data_dir=tmp_path)
    try:
        assert isinstance(real.speaker, VoiceSpeaker)
        assert isinstance(real.speaker.output, AplayOutput)
    finally:
        real.close()
    plain = build_ports(["speaker"], PortsSettings(speaker=SimPort()), sim=False)
    assert isinstance(plain.speaker, SimSpeaker)
