"""Ratings of a range of hall days: the list, and counts per window, clerk and
service (the 好差评 admin page and ``GET /api/v1/ratings``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.auth.models import User
from central.queueing.models import Service, Window
from central.queueing.period import Period
from central.ratings import codes
from central.ratings.models import Rating

MAX_ROWS: Final = 500


@dataclass(frozen=True)
class RatingRow:
    id: int
    rated_at: dt.datetime
    day: dt.date
    ticket_id: int
    ticket_number: str
    service: str
    matter: str | None
    window: int | None
    clerk: str | None
    channel: str
    level: int
    level_label: str
    reasons: list[str]
    reason_labels: list[str]
    comment: str | None


@dataclass
class Tally:
    """Counts per level of one window, clerk or service."""

    label: str
    levels: dict[int, int] = field(default_factory=lambda: dict.fromkeys(codes.LEVELS, 0))

    @property
    def total(self) -> int:
        return sum(self.levels.values())

    @property
    def bad(self) -> int:
        return sum(n for level, n in self.levels.items() if not codes.is_good(level))

    @property
    def good_rate(self) -> float | None:
        """好评率 in percent: 基本满意 and above, of all ratings."""
        return None if not self.total else round(100 * (self.total - self.bad) / self.total, 1)


@dataclass(frozen=True)
class RatingsReport:
    period: Period
    rows: list[RatingRow]
    more: int  # rows beyond the shown list
    total: Tally
    by_window: list[Tally]
    by_clerk: list[Tally]
    by_service: list[Tally]


def ratings_report(
    session: Session, *, period: Period, window: int | None = None, limit: int = MAX_ROWS
) -> RatingsReport:
    query = select(Rating).where(Rating.day >= period.start, Rating.day <= period.end)
    windows: dict[int, int] = dict(session.execute(select(Window.id, Window.number)).all())
    if window is not None:
        wid = next((k for k, v in windows.items() if v == window), -1)
        query = query.where(Rating.window_id == wid)
    ratings = list(session.scalars(query.order_by(Rating.rated_at.desc(), Rating.id.desc())))
    services = {s.id: f"{s.prefix} {s.name}" for s in session.scalars(select(Service))}
    clerk_ids = {r.clerk_id for r in ratings if r.clerk_id is not None}
    clerks = {
        u.id: u.display_name or u.username
        for u in session.scalars(select(User).where(User.id.in_(clerk_ids)))
    }
    total = Tally("合计")
    tallies: dict[str, dict[object, Tally]] = defaultdict(dict)
    keyed: dict[str, Callable[[Rating], tuple[object, str]]] = {
        "window": lambda r: (windows.get(r.window_id or -1, 0), _window_label(windows, r)),
        "clerk": lambda r: (clerks.get(r.clerk_id or -1, "（未登录）"),) * 2,
        "service": lambda r: (services.get(r.service_id, ""), services.get(r.service_id, "")),
    }
    for r in ratings:
        total.levels[r.level] = total.levels.get(r.level, 0) + 1
        for kind, key_of in keyed.items():
            key, label = key_of(r)
            tally = tallies[kind].setdefault(key, Tally(label))
            tally.levels[r.level] = tally.levels.get(r.level, 0) + 1
    rows = [
        RatingRow(
            id=r.id,
            rated_at=r.rated_at,
            day=r.day,
            ticket_id=r.ticket_id,
            ticket_number=r.ticket_number,
            service=services.get(r.service_id, ""),
            matter=r.matter,
            window=windows.get(r.window_id) if r.window_id is not None else None,
            clerk=clerks.get(r.clerk_id) if r.clerk_id is not None else None,
            channel=r.channel,
            level=r.level,
            level_label=codes.level_label(r.level),
            reasons=list(r.reasons),
            reason_labels=[codes.REASON_LABELS.get(c, c) for c in r.reasons],
            comment=r.comment,
        )
        for r in ratings[:limit]
    ]

    def ordered(kind: str) -> list[Tally]:
        # Keys of one kind are all numbers (windows) or all labels.
        return [t for _, t in sorted(tallies[kind].items(), key=lambda kv: kv[0])]  # type: ignore[arg-type,return-value]

    return RatingsReport(
        period=period,
        rows=rows,
        more=max(0, len(ratings) - limit),
        total=total,
        by_window=ordered("window"),
        by_clerk=ordered("clerk"),
        by_service=ordered("service"),
    )


def _window_label(windows: dict[int, int], r: Rating) -> str:
    number = windows.get(r.window_id) if r.window_id is not None else None
    return f"{number} 号窗口" if number is not None else "（无窗口）"
