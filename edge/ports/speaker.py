"""A speaker for Mandarin call announcements (请 A012 号 到 5 号窗口 办理).

`Speaker.announce` queues a call and returns at once; the speaker plays calls
one after another (never overlapping) and tells every `on_report` callback
whether each was played, failed, or skipped (a backlog policy dropped it:
see `display.voice.speaker`) and when the sound began. The real adapter
(`display.voice.speaker.VoiceSpeaker`: pre-rendered espeak-ng clips, a chime,
aplay or a WAV folder) is built by `edge.ports.factory`; `SimSpeaker` is the
in-memory fake for tests and ``--sim``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Announcement:
    ticket: str  # "A012"
    window: int  # 5
    window_name: str  # "5号窗口"
    recall: bool
    called_at: datetime


@dataclass(frozen=True)
class AnnouncementReport:
    ticket: str
    window: int
    status: Literal["played", "failed", "skipped"]
    reason: str | None  # e.g. "no audio device"; for skipped, why (waited too long)
    called_at: datetime
    queued_at: datetime
    first_sample_at: datetime | None  # when audio output began
    finished_at: datetime | None

    def as_event(self) -> dict[str, Any]:
        """JSON-ready body for ``device.emit("announcement", ...)``."""

        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        return {
            "ticket": self.ticket,
            "window": self.window,
            "status": self.status,
            "reason": self.reason,
            "called_at": iso(self.called_at),
            "queued_at": iso(self.queued_at),
            "first_sample_at": iso(self.first_sample_at),
            "finished_at": iso(self.finished_at),
        }


ReportCallback = Callable[[AnnouncementReport], None]


class Speaker(Protocol):
    @property
    def state(self) -> str: ...

    def announce(self, call: Announcement) -> None:
        """Queue a call; returns at once. Calls never overlap."""
        ...

    def on_report(self, callback: ReportCallback) -> None:
        """Call `callback` (on the speaker's thread) with each call's report."""
        ...

    def tune(self, overrides: dict[str, Any]) -> str | None:
        """Apply the hub's voice settings (`BoardSettings.voice_overrides`) over the
        device's own from the next call on; returns why they were refused, or None."""
        ...

    def close(self) -> None: ...


class SimSpeaker:
    """Keeps every call in ``announced`` and reports it played at once."""

    def __init__(self) -> None:
        self.announced: list[Announcement] = []
        self.tuned: dict[str, Any] = {}
        self._callbacks: list[ReportCallback] = []
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        return "ok"

    def announce(self, call: Announcement) -> None:
        now = datetime.now(UTC)
        with self._lock:
            self.announced.append(call)
            callbacks = list(self._callbacks)
        report = AnnouncementReport(
            ticket=call.ticket,
            window=call.window,
            status="played",
            reason=None,
            called_at=call.called_at,
            queued_at=now,
            first_sample_at=now,
            finished_at=now,
        )
        for callback in callbacks:
            callback(report)

    def on_report(self, callback: ReportCallback) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def tune(self, overrides: dict[str, Any]) -> str | None:
        self.tuned = dict(overrides)
        return None

    def close(self) -> None:
        pass
