"""公平性日志 for people: the entries of a date range and the queue-jump report
(插队报告) — how often each window and each clerk bent queue order, by kind
and reason. The chain itself is checked by `central.queueing.fairness`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from central.auth.models import User
from central.queueing import reasons
from central.queueing.fairness import FairnessKind
from central.queueing.models import FairnessEntry, Window
from central.queueing.period import Period

KIND_LABELS: Final[dict[str, str]] = {
    FairnessKind.OUT_OF_ORDER: "插队（指定叫号）",
    FairnessKind.PRIORITY: "优先",
    FairnessKind.GREEN_CHANNEL: "绿色通道",
    FairnessKind.TRANSFER: "转号",
    FairnessKind.PARK: "挂起",
    FairnessKind.NO_SHOW: "过号",
}
_REASONS: Final[dict[str, dict[str, str]]] = {
    FairnessKind.OUT_OF_ORDER: reasons.OUT_OF_ORDER,
    FairnessKind.PRIORITY: reasons.PRIORITY,
    FairnessKind.GREEN_CHANNEL: reasons.PRIORITY,
    FairnessKind.TRANSFER: reasons.TRANSFER,
    FairnessKind.PARK: reasons.PARK,
    FairnessKind.NO_SHOW: reasons.NO_SHOW,
}
# A page, not an archive: the CLI and the database hold the rest.
MAX_LISTED = 500


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def reason_label(kind: str, reason: str) -> str:
    label = _REASONS.get(kind, {}).get(reason)
    return f"{label}（{reason}）" if label else reason


@dataclass(frozen=True)
class EntryView:
    id: int
    at: dt.datetime  # in the hall's time zone
    kind: str
    reason: str
    ticket_number: str | None
    window: str | None
    clerk: str | None
    hash_prefix: str


@dataclass(frozen=True)
class CountRow:
    who: str
    kind: str
    reason: str
    count: int


@dataclass(frozen=True)
class Summary:
    """One window's or clerk's departures from queue order."""

    who: str
    total: int
    out_of_order: int  # 插队 proper, the figure managers watch
    rows: list[CountRow]


@dataclass(frozen=True)
class FairnessPage:
    period: Period
    total: int
    entries: list[EntryView]
    by_window: list[Summary]
    by_clerk: list[Summary]


def _names(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    windows = {w.id: f"{w.number} 号窗口" for w in session.scalars(select(Window))}
    clerks = {
        u.id: f"{u.display_name or u.username}（{u.username}）"
        for u in session.scalars(select(User))
    }
    return windows, clerks


def fairness_page(session: Session, *, period: Period) -> FairnessPage:
    lo, hi = period.utc_bounds()
    in_range = and_(FairnessEntry.at >= lo, FairnessEntry.at < hi)
    windows, clerks = _names(session)
    total = session.scalar(select(func.count()).select_from(FairnessEntry).where(in_range)) or 0
    newest = session.scalars(
        select(FairnessEntry).where(in_range).order_by(FairnessEntry.id.desc()).limit(MAX_LISTED)
    )
    entries = [
        EntryView(
            id=e.id,
            at=e.at.astimezone(period.zone),
            kind=kind_label(e.kind),
            reason=reason_label(e.kind, e.reason),
            ticket_number=e.ticket_number,
            window=windows.get(e.window_id) if e.window_id is not None else None,
            clerk=clerks.get(e.clerk_id) if e.clerk_id is not None else None,
            hash_prefix=e.hash[:12],
        )
        for e in newest
    ]
    return FairnessPage(
        period=period,
        total=total,
        entries=entries,
        by_window=_summaries(session, FairnessEntry.window_id, in_range, windows, "未关联窗口"),
        by_clerk=_summaries(session, FairnessEntry.clerk_id, in_range, clerks, "未关联人员"),
    )


def _summaries(
    session: Session,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    in_range: ColumnElement[bool],
    names: dict[int, str],
    nobody: str,
) -> list[Summary]:
    stmt = (
        select(column, FairnessEntry.kind, FairnessEntry.reason, func.count())
        .where(in_range)
        .group_by(column, FairnessEntry.kind, FairnessEntry.reason)
    )
    grouped: dict[Any, list[tuple[str, str, int]]] = defaultdict(list)
    for who, kind, reason, count in session.execute(stmt):
        grouped[who].append((kind, reason, int(count)))
    summaries = []
    for who, items in grouped.items():
        label = names.get(who, f"#{who}") if who is not None else nobody
        items.sort(key=lambda i: (list(KIND_LABELS).index(i[0]) if i[0] in KIND_LABELS else 99,
                                  -i[2], i[1]))  # fmt: skip
        summaries.append(
            Summary(
                who=label,
                total=sum(c for _, _, c in items),
                out_of_order=sum(c for k, _, c in items if k == FairnessKind.OUT_OF_ORDER),
                rows=[CountRow(label, kind_label(k), reason_label(k, r), c) for k, r, c in items],
            )
        )
    # Most queue-jumps first: the page answers "who bends the queue most?".
    summaries.sort(key=lambda s: (-s.out_of_order, -s.total, s.who))
    return summaries
