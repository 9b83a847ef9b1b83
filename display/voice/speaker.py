"""`VoiceSpeaker`: the real `edge.ports.speaker.Speaker`.

One worker thread takes calls from a queue, so calls never overlap and
`announce` returns at once. At start it renders every clip a call can need
(first run only; later runs find them cached), then for each call: compose,
play, report. Every call gets exactly one report, played or failed with a
reason, because a voice that silently stops is what halls complain of most.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

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


class VoiceSpeaker:
    def __init__(
        self,
        settings: VoiceSettings,
        data_dir: Path,
        *,
        output: AudioOutput | None = None,
        tts: Tts | None = None,
        sim: bool = False,
    ) -> None:
        self.settings = settings
        data_dir.mkdir(parents=True, exist_ok=True)
        tts = tts or EspeakTts(settings.voice, settings.speed_wpm, settings.pitch)
        self.clips = ClipCache(tts, settings.cache_dir or data_dir / "voice-clips")
        self.composer = Composer(self.clips, settings)
        self.output = output or build_output(settings, data_dir, sim=sim)
        self.prepare_s: float | None = None  # first-run clip rendering, for the logs
        self._callbacks: list[ReportCallback] = []
        self._queue: queue.Queue[tuple[Announcement, datetime] | None] = queue.Queue()
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
        self._queue.put((call, datetime.now(UTC)))

    def on_report(self, callback: ReportCallback) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._queue.put(None)  # the worker's stop sign
        self.output.stop()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        self._prepare()
        while True:
            item = self._queue.get()
            if item is None:
                return
            call, queued_at = item
            self._report(self._play(call, queued_at))

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

    def _play(self, call: Announcement, queued_at: datetime) -> AnnouncementReport:
        first: list[datetime] = []

        def report(reason: str | None) -> AnnouncementReport:
            return AnnouncementReport(
                ticket=call.ticket,
                window=call.window,
                status="failed" if reason else "played",
                reason=reason,
                called_at=call.called_at,
                queued_at=queued_at,
                first_sample_at=first[0] if first else None,
                finished_at=None if reason else datetime.now(UTC),
            )

        try:
            composition = self.composer.compose(call)
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
        if report.status == "failed":
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
