"""The 好差评 admin page (``/ratings``) and ``GET /api/v1/ratings``: ratings of
a range of hall days, with counts per window, clerk and service. Admins and
hall managers only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from central.auth.models import Role, User
from central.deps import CsrfChecked, SessionDep, require_roles
from central.queueing.period import BadPeriod, Period, hall_period, hall_zone
from central.queueing.views import render
from central.ratings import codes
from central.ratings.report import MAX_ROWS, RatingRow, Tally, ratings_report
from central.state import HubState, StateDep

router = APIRouter(tags=["ratings"], dependencies=[CsrfChecked])

RatingViewer = Annotated[User, Depends(require_roles(Role.ADMIN, Role.MANAGER))]


def _period(state: HubState, start: str | None, end: str | None) -> Period:
    return hall_period(
        start, end, timezone=state.settings.hub.display_timezone, now=state.clock.now()
    )


@router.get("/ratings", response_class=HTMLResponse, include_in_schema=False)
def ratings_page(
    request: Request,
    db: SessionDep,
    state: StateDep,
    user: RatingViewer,
    start: str | None = None,
    end: str | None = None,
) -> HTMLResponse:
    try:
        period = _period(state, start, end)
    except BadPeriod as exc:
        return render(
            request, state, user, "ratings/admin.html", status_code=400, error=str(exc),
            report=None, start=start or "", end=end or "",
        )  # fmt: skip
    zone = hall_zone(state.settings.hub.display_timezone)
    return render(
        request, state, user, "ratings/admin.html", error=None,
        report=ratings_report(db, period=period), levels=codes.LEVELS,
        channels=codes.CHANNEL_LABELS, zone=zone,
        start=f"{period.start:%Y-%m-%d}", end=f"{period.end:%Y-%m-%d}",
    )  # fmt: skip


# --- API ---------------------------------------------------------------------------------


class RatingOut(BaseModel):
    id: int
    rated_at: dt.datetime
    day: dt.date = Field(description="the ticket's hall day")
    ticket_id: int
    ticket_number: str
    service: str
    matter: str | None
    window: int | None
    clerk: str | None
    channel: str = Field(description="window_pad, caller, mobile, kiosk")
    level: int = Field(description="5 非常满意 … 1 非常不满意")
    level_label: str
    reasons: list[str] = Field(description="reason codes (central.ratings.codes)")
    reason_labels: list[str]
    comment: str | None

    @classmethod
    def of(cls, r: RatingRow) -> RatingOut:
        return cls(**r.__dict__)


class TallyOut(BaseModel):
    label: str
    total: int
    levels: dict[int, int]
    good_rate: float | None = Field(description="好评率 in percent (基本满意 and above)")

    @classmethod
    def of(cls, t: Tally) -> TallyOut:
        return cls(label=t.label, total=t.total, levels=t.levels, good_rate=t.good_rate)


class RatingsOut(BaseModel):
    start: dt.date
    end: dt.date
    total: TallyOut
    by_window: list[TallyOut]
    by_clerk: list[TallyOut]
    by_service: list[TallyOut]
    ratings: list[RatingOut]
    more: int = Field(description="ratings in the range beyond the returned list")


@router.get("/api/v1/ratings", responses={400: {"description": "日期范围有误"}})
def list_ratings(
    db: SessionDep,
    state: StateDep,
    _user: RatingViewer,
    start: Annotated[str | None, Query(description="YYYY-MM-DD; today when omitted")] = None,
    end: Annotated[str | None, Query(description="YYYY-MM-DD; the start day when omitted")] = None,
    window: Annotated[int | None, Query(description="only this window's ratings")] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_ROWS)] = 100,
) -> RatingsOut:
    try:
        period = _period(state, start, end)
    except BadPeriod as exc:
        raise HTTPException(400, str(exc)) from exc
    report = ratings_report(db, period=period, window=window, limit=limit)
    return RatingsOut(
        start=period.start,
        end=period.end,
        total=TallyOut.of(report.total),
        by_window=[TallyOut.of(t) for t in report.by_window],
        by_clerk=[TallyOut.of(t) for t in report.by_clerk],
        by_service=[TallyOut.of(t) for t in report.by_service],
        ratings=[RatingOut.of(r) for r in report.rows],
        more=report.more,
    )
