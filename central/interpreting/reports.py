"""手语翻译统计: figures of the interpreter service per time range, per
interpreter and per day, from the request and offer records.

Definitions (docs/interpreting.md):
- answered: requests an interpreter accepted; abandoned: requests that ended
  before anyone accepted (the citizen cancelled or the terminal went away);
- ASA (average speed of answer): requested → answered, over answered requests;
- AHT (average handling time): answered → ended, over ended calls (talk time;
  after-call work until the outcome is not included);
- abandonment rate: abandoned / (answered + abandoned);
- answered within 30 s / 120 s: of (answered + abandoned) for the hall, of
  the interpreter's answered calls on an interpreter's row (abandoned
  requests belong to no interpreter);
- offers missed: offers an interpreter declined or let time out.
Requests still waiting or in a call are counted but left out of the rates.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.auth.models import User
from central.interpreting.models import InterpOffer, InterpRequest
from central.queueing.period import Period

THRESHOLDS_S = (30, 120)


@dataclass(frozen=True)
class Figures:
    label: str
    requests: int
    answered: int
    abandoned: int
    open: int
    asa_s: float | None
    aht_s: float | None
    abandon_rate: float | None  # percent
    within_30: float | None  # percent
    within_120: float | None  # percent
    offers: int
    missed: int


@dataclass(frozen=True)
class InterpretingReport:
    period: Period
    total: Figures
    by_interpreter: list[Figures]
    by_day: list[Figures]


@dataclass(frozen=True)
class _Req:
    requested_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    abandoned_at: dt.datetime | None
    interpreter_id: int | None


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def figures(
    label: str,
    requests: Iterable[_Req],
    *,
    offers: int = 0,
    missed: int = 0,
    per_interpreter: bool = False,
) -> Figures:
    rows = list(requests)
    answered = [r for r in rows if r.answered_at is not None]
    abandoned = [r for r in rows if r.answered_at is None and r.abandoned_at is not None]
    waits = [(r.answered_at - r.requested_at).total_seconds() for r in answered if r.answered_at]
    talks = [
        (r.ended_at - r.answered_at).total_seconds()
        for r in answered
        if r.ended_at is not None and r.answered_at is not None
    ]
    settled = len(answered) if per_interpreter else len(answered) + len(abandoned)
    within = [sum(1 for w in waits if w <= t) for t in THRESHOLDS_S]
    return Figures(
        label=label,
        requests=len(rows),
        answered=len(answered),
        abandoned=len(abandoned),
        open=len(rows) - len(answered) - len(abandoned),
        asa_s=_mean(waits),
        aht_s=_mean(talks),
        abandon_rate=None if per_interpreter else _pct(len(abandoned), settled),
        within_30=_pct(within[0], settled),
        within_120=_pct(within[1], settled),
        offers=offers,
        missed=missed,
    )


def interpreting_report(session: Session, *, period: Period) -> InterpretingReport:
    lo, hi = period.utc_bounds()
    rows = session.execute(
        select(
            InterpRequest.id,
            InterpRequest.requested_at,
            InterpRequest.answered_at,
            InterpRequest.ended_at,
            InterpRequest.abandoned_at,
            InterpRequest.interpreter_id,
        ).where(InterpRequest.requested_at >= lo, InterpRequest.requested_at < hi)
    ).all()
    reqs = {r.id: _Req(*r[1:]) for r in rows}
    offer_rows = session.execute(
        select(InterpOffer.request_id, InterpOffer.interpreter_id, InterpOffer.result).where(
            InterpOffer.request_id.in_(list(reqs)) if reqs else InterpOffer.id < 0
        )
    ).all()
    offers: dict[int, int] = defaultdict(int)
    missed: dict[int, int] = defaultdict(int)
    for o in offer_rows:
        offers[o.interpreter_id] += 1
        if o.result in ("declined", "timeout"):
            missed[o.interpreter_id] += 1

    names = {
        u.id: u.display_name or u.username
        for u in session.scalars(select(User).where(User.id.in_(set(offers) | _served(reqs))))
    }
    by_interp: list[Figures] = []
    for uid in sorted(names, key=lambda i: names[i]):
        mine = [r for r in reqs.values() if r.interpreter_id == uid]
        by_interp.append(
            figures(names[uid], mine, offers=offers[uid], missed=missed[uid], per_interpreter=True)
        )
    days: dict[dt.date, list[_Req]] = defaultdict(list)
    for r in reqs.values():
        days[r.requested_at.astimezone(period.zone).date()].append(r)
    by_day = [figures(f"{d:%Y-%m-%d}", days[d]) for d in sorted(days)]
    total = figures("合计", reqs.values(), offers=sum(offers.values()), missed=sum(missed.values()))
    return InterpretingReport(period, total, by_interp, by_day)


def _served(reqs: dict[str, _Req]) -> set[int]:
    return {r.interpreter_id for r in reqs.values() if r.interpreter_id is not None}
