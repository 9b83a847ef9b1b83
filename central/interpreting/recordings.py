"""Recordings of calls, as the terminals report them, and 通话记录 (the calls
of a period with their 录像 column).

A terminal records a call only with the citizen's consent and reports each
segment as a ``recording_saved`` or ``recording_failed`` device event
(`broker.recording`). The bridge stores every device event once; this module
validates the data and keeps one `InterpRecording` row per segment, written
in order with the other interpreting records (`records.Recorder`). A report
that does not validate, names a request this hub does not know, comes from
another terminal than the request's, or belongs to a request without consent
is rejected with a logged reason (the raw event stays in ``device_events``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from broker.contract import Event
from broker.recording import EVENTS, RecordingReport, report_of
from central.auth.models import User
from central.interpreting.live import OUTCOMES
from central.interpreting.models import InterpRecording, InterpRequest
from central.interpreting.records import Recorder
from central.queueing.period import Period

log = logging.getLogger(__name__)

RECORDS_SHOWN: Final = 500
STATE_LABELS: Final[dict[str, str]] = {
    "waiting": "等待中",
    "connected": "通话中",
    "ended": "已结束",
    "abandoned": "已放弃",
}


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in exc.errors()
        )[:300]
    return str(exc)[:300]


class RecordingReports:
    """The bridge's listener for recording events (every hub process has one:
    whichever worker stores the event handles it, interpreting enabled or not)."""

    def __init__(self, recorder: Recorder, now: Callable[[], dt.datetime]) -> None:
        self._recorder = recorder
        self._now = now
        self.rejected = 0

    def on_event(self, device_id: str, name: str, event: Event) -> None:
        if name not in EVENTS:
            return
        try:
            report = report_of(name, dict(event.data))
        except (ValueError, ValidationError) as exc:
            self.rejected += 1
            log.warning("%s from %s rejected: %s", name, device_id, _why(exc))
            return
        at = self._now()
        self._recorder.put(lambda s: self._store(s, device_id, report, at))

    def _store(self, session: Session, device_id: str, report: RecordingReport,
               at: dt.datetime) -> None:  # fmt: skip
        request = session.get(InterpRequest, report.request_id)
        why = None
        if request is None:
            why = "no such request"
        elif request.terminal != device_id:
            why = f"the request is terminal {request.terminal}'s"
        elif not request.consent_recording:
            why = "the citizen did not consent to a recording of this request"
        if why is not None:
            self.rejected += 1
            log.warning("%s of %s segment %d from %s rejected: %s", report.event_name,
                        report.request_id, report.segment, device_id, why)  # fmt: skip
            return
        known = session.scalar(
            select(InterpRecording.id).where(
                InterpRecording.request_id == report.request_id,
                InterpRecording.segment == report.segment,
            )
        )
        if known is not None:
            return  # told twice: the first word stands
        session.add(
            InterpRecording(
                request_id=report.request_id,
                segment=report.segment,
                terminal=device_id,
                status="saved" if report.saved else "failed",
                file=report.file,
                size_bytes=report.bytes,
                duration_s=report.duration_s,
                reason=report.reason,
                created_at=at,
            )
        )


# --- 通话记录 -----------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60:02d}:{s % 60:02d}"


def _size(size: int) -> str:
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GB"
    if size >= 1024**2:
        return f"{size / 1024**2:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def recording_text(request: InterpRequest, segments: list[InterpRecording]) -> str:
    """The 录像 column: 已录像 (duration, size) / 录像失败 (why) / 未同意录像 …"""
    if not request.consent_recording:
        return "未同意录像"
    saved = [s for s in segments if s.status == "saved"]
    failed = [s for s in segments if s.status != "saved"]
    parts = []
    if saved:
        pieces = f"{len(saved)} 段，" if len(saved) > 1 else ""
        duration = _clock(sum(s.duration_s for s in saved))
        parts.append(f"已录像（{pieces}{duration}，{_size(sum(s.size_bytes for s in saved))}）")
    if failed:
        reason = failed[-1].reason or "原因不明"
        count = f"{len(failed)} 段" if saved or len(failed) > 1 else ""
        parts.append(f"{count}录像失败（{reason}）")
    if parts:
        return "；".join(parts)
    if request.answered_at is None:
        return "同意录像，未接通" if request.state != "waiting" else "同意录像，等待中"
    if request.state == "connected":
        return "同意录像，通话中"
    return "同意录像，未收到终端的录像报告"


@dataclass(frozen=True)
class CallRecord:
    request_id: str
    requested_at: dt.datetime  # in the hall's time zone
    terminal: str
    location: str | None
    interpreter: str | None
    state: str
    wait_s: float | None
    talk_s: float | None
    outcome: str | None
    recording: str
    files: tuple[str, ...]
    recorded: bool  # at least one segment saved
    failed: bool  # at least one segment failed

    @property
    def wait(self) -> str:
        return _clock(self.wait_s) if self.wait_s is not None else "—"

    @property
    def talk(self) -> str:
        return _clock(self.talk_s) if self.talk_s is not None else "—"


def call_records(
    session: Session, *, period: Period, limit: int = RECORDS_SHOWN
) -> list[CallRecord]:
    """The requests of `period` (by request time), newest first."""
    lo, hi = period.utc_bounds()
    rows = session.execute(
        select(InterpRequest, User)
        .outerjoin(User, User.id == InterpRequest.interpreter_id)
        .where(InterpRequest.requested_at >= lo, InterpRequest.requested_at < hi)
        .order_by(InterpRequest.requested_at.desc())
        .limit(limit)
    ).all()
    ids = [request.id for request, _ in rows]
    segments: dict[str, list[InterpRecording]] = defaultdict(list)
    if ids:
        for segment in session.scalars(
            select(InterpRecording)
            .where(InterpRecording.request_id.in_(ids))
            .order_by(InterpRecording.request_id, InterpRecording.segment)
        ):
            segments[segment.request_id].append(segment)
    records = []
    for request, user in rows:
        mine = segments.get(request.id, [])
        start = request.answered_at
        end = request.ended_at
        records.append(
            CallRecord(
                request_id=request.id,
                requested_at=request.requested_at.astimezone(period.zone),
                terminal=request.terminal,
                location=request.location,
                interpreter=(user.display_name or user.username) if user is not None else None,
                state=STATE_LABELS.get(request.state, request.state),
                wait_s=(start - request.requested_at).total_seconds() if start else None,
                talk_s=(end - start).total_seconds() if start and end else None,
                outcome=OUTCOMES.get(request.outcome, request.outcome) if request.outcome else None,
                recording=recording_text(request, mine),
                files=tuple(s.file for s in mine if s.file),
                recorded=any(s.status == "saved" for s in mine),
                failed=any(s.status != "saved" for s in mine),
            )
        )
    return records
