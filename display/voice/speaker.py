"""`VoiceSpeaker`: the real `edge.ports.speaker.Speaker`.

One worker thread takes calls from a queue, so calls never overlap and
`announce` returns at once. At start it renders every clip a call can need
(first run only; later runs find them cached), then for each call: compose,
play, report. Every call gets exactly one report — played, failed with a
reason, or skipped by the backlog policy below — because a voice that
silently stops is what halls complain of most (calls still queued when the
device stops are dropped unreported: the hub could not hear of them anyway).

**Backlog policy.** A call with its chime and two sayings lasts about 16 s,
so one speaker says fewer than four calls a minute; a big hall at peak calls
far more (76 windows: about 19 a minute). A call heard minutes after the
board showed it is worse than none: the citizen has gone to the window, or
hears a number that sounds like theirs. So, when a call's turn comes:

1. it is **skipped** when it waited longer than ``max_wait_s`` (default 60 s)
   since it was queued here: reported ``skipped`` with the wait in the
   reason, never played (the board still shows it);
2. it is **skipped** when the same ticket was queued again behind it (a 重呼
   while the first call still waited): only the newer call is said;
3. otherwise it is said ``busy_repeat`` times (default once) when other
   calls wait behind it, else ``repeat`` times (default twice).

Calls keep their order and never overlap; a skipped call costs no time.
The age is measured on this device's monotonic clock, so a hub clock that
is off does not skip calls.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from display.voice.clips import ClipCache
from display.voice.compose import Composer
from display.voice.outputs import AplayOutput, AudioFailure, AudioOutput, FolderOutput
from display.voice.settings import VoiceSettings
from display.voice.tts import EspeakTts, Tts, TtsUnavailable
from display.voice.words import vocabulary
from edge.ports.speaker import Announcement, AnnouncementReport, ReportCallback

log = logging.getLogger(__name__)


def build_output(settings: VoiceSettings, data_dir: Path, *, sim: bool = False) -> AudioOutput:
    """The configured output; with `sim` the sound card is a folder."""
    if sim or settings.output == "folder":
        return FolderOutput(settings.folder or data_dir / "played")
    return AplayOutput(settings.alsa_device, data_dir, settings.play_timeout_s)


@dataclass(frozen=True)
class Queued:
    call: Announcement
    queued_at: datetime  # for the report
    queued_mono: float  # for the age: this device's monotonic clock


class VoiceSpeaker:
    def __init__(
        self,
        settings: VoiceSettings,
        data_dir: Path,
        *,
        output: AudioOutput | None = None,
        tts: Tts | None = None,
        sim: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = settings  # the device's own; `tune` lays the hub's over them
        self.settings = settings
        data_dir.mkdir(parents=True, exist_ok=True)
        tts = tts or EspeakTts(settings.voice, settings.speed_wpm, settings.pitch)
        self.clips = ClipCache(tts, settings.cache_dir or data_dir / "voice-clips")
        self.composer = Composer(self.clips, settings)
        self.output = output or build_output(settings, data_dir, sim=sim)
        self.prepare_s: float | None = None  # first-run clip rendering, for the logs
        self._callbacks: list[ReportCallback] = []
        self._monotonic = monotonic
        self._waiting: deque[Queued] = deque()
        self._closed = False
        self._cond = threading.Condition()
        self.skipped = 0
        self._problem: str | None = None
        self._ready = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
        self._thread.start()

    @property
    def state(self) -> str:
        problem = self._problem or self.output.problem()
        if problem:
            return f"failed: {problem}"
        return "ok" if self._ready else "preparing"

    def announce(self, call: Announcement) -> None:
        with self._cond:
            self._waiting.append(Queued(call, datetime.now(UTC), self._monotonic()))
            self._cond.notify()

    def on_report(self, callback: ReportCallback) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def tune(self, overrides: dict[str, Any]) -> str | None:
        """The hub's voice settings over the device's own (`self.base`), from the
        next call on; refused as a whole (with the reason) when they do not fit
        together, e.g. ``busy_repeat`` above ``repeat``."""
        try:
            tuned = VoiceSettings.model_validate(self.base.model_dump() | overrides)
        except ValidationError as exc:
            reason = "; ".join(e["msg"] for e in exc.errors())
            log.warning("voice settings from the hub refused: %s", reason)
            return reason
        with self._cond:  # the worker reads them between calls
            self.settings = tuned
            self.composer.settings = tuned
        return None

    def pending(self) -> int:
        with self._cond:
            return len(self._waiting)

    def close(self) -> None:
        with self._cond:
            self._closed = True  # the worker's stop sign
            self._cond.notify()
        self.output.stop()
        self._thread.join(timeout=5)

    def _next(self) -> tuple[Queued, list[Queued]] | None:
        """The next call and those waiting behind it (None: closing)."""
        with self._cond:
            self._cond.wait_for(lambda: self._waiting or self._closed)
            if self._closed:
                return None
            return self._waiting.popleft(), list(self._waiting)

    def _run(self) -> None:
        self._prepare()
        while (taken := self._next()) is not None:
            item, behind = taken
            reason = self._skip_reason(item, behind)
            if reason is not None:
                self.skipped += 1
                self._report(_report(item, "skipped", reason))
                continue
            repeat = self.settings.busy_repeat if behind else self.settings.repeat
            self._report(self._play(item, repeat))

    def _skip_reason(self, item: Queued, behind: list[Queued]) -> str | None:
        call = item.call
        if any(b.call.ticket == call.ticket and b.call.window == call.window for b in behind):
            return "called again: the newer call is announced"
        waited = self._monotonic() - item.queued_mono
        limit = self.settings.max_wait_s
        if limit and waited > limit:
            return f"backlog: waited {waited:.0f} s, more than max_wait_s {limit:g} s"
        return None

    def _prepare(self) -> None:
        t0 = time.perf_counter()
        try:
            new = self.clips.prepare(vocabulary(self.settings.one_as))
        except (TtsUnavailable, OSError) as exc:
            self._problem = str(exc)
            log.error("voice clips could not be rendered: %s", exc)
            return
        self.prepare_s = time.perf_counter() - t0
        self._ready = True
        if new:
            log.info("rendered %d voice clips in %.2f s", new, self.prepare_s)

    def _play(self, item: Queued, repeat: int) -> AnnouncementReport:
        call = item.call
        first: list[datetime] = []

        def report(reason: str | None) -> AnnouncementReport:
            if reason is not None:
                return _report(item, "failed", reason, first[0] if first else None)
            return _report(item, "played", None, first[0] if first else None, datetime.now(UTC))

        try:
            composition = self.composer.compose(call, repeat=repeat)
            name = re.sub(r"[^A-Za-z0-9]", "", call.ticket) + f"-w{call.window}"
            self.output.play(composition, name, lambda: first.append(datetime.now(UTC)))
        except (AudioFailure, TtsUnavailable) as exc:
            self._problem = str(exc)
            return report(str(exc))
        except Exception as exc:  # any other fault is still a call nobody heard
            log.exception("announcement of %s failed", call.ticket)
            self._problem = f"{type(exc).__name__}: {exc}"
            return report(self._problem)
        self._problem = None
        return report(None)

    def _report(self, report: AnnouncementReport) -> None:
        if report.status == "skipped":
            log.info(
                "call %s to window %d skipped: %s", report.ticket, report.window, report.reason
            )
        elif report.status == "failed":
            log.warning(
                "call %s to window %d not heard: %s", report.ticket, report.window, report.reason
            )
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(report)
            except Exception:
                log.exception("announcement report callback failed")


def _report(
    item: Queued,
    status: Literal["played", "failed", "skipped"],
    reason: str | None,
    first_sample_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> AnnouncementReport:
    return AnnouncementReport(
        ticket=item.call.ticket,
        window=item.call.window,
        status=status,
        reason=reason,
        called_at=item.call.called_at,
        queued_at=item.queued_at,
        first_sample_at=first_sample_at,
        finished_at=finished_at,
    )
