"""The 统计报表 page with its CSV and XLSX downloads, and the 公平性日志 page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from central.deps import CsrfChecked, SessionDep
from central.queueing.audit import fairness_page
from central.queueing.fairness import verify_chain
from central.queueing.period import BadPeriod, Period, hall_period
from central.queueing.reportfiles import HEADERS, cells, to_csv, to_xlsx
from central.queueing.reports import hall_report
from central.queueing.views import HallManager, render
from central.state import HubState, StateDep

router = APIRouter(tags=["pages"], dependencies=[CsrfChecked])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(state: HubState, start: str | None, end: str | None) -> Period:
    return hall_period(
        start, end, timezone=state.settings.hub.display_timezone, now=state.clock.now()
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    db: SessionDep,
    state: StateDep,
    user: HallManager,
    start: str | None = None,
    end: str | None = None,
) -> HTMLResponse:
    try:
        period = _period(state, start, end)
    except BadPeriod as exc:
        today = _period(state, None, None)
        return render(
            request, state, user, "queueing/reports.html", status_code=400,
            error=str(exc), period=today, report=None, start=start or "", end=end or "",
        )  # fmt: skip
    report = hall_report(db, period=period)
    return render(
        request, state, user, "queueing/reports.html",
        error=None, period=period, report=report, headers=HEADERS, cells=cells,
        start=f"{period.start:%Y-%m-%d}", end=f"{period.end:%Y-%m-%d}",
    )  # fmt: skip


def _download(
    db: SessionDep, state: HubState, start: str | None, end: str | None, kind: str
) -> Response:
    try:
        period = _period(state, start, end)
    except BadPeriod as exc:
        return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
    report = hall_report(db, period=period)
    name = f"report-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{kind}"
    body, media = (to_csv(report), "text/csv; charset=utf-8") if kind == "csv" else (
        to_xlsx(report), XLSX)  # fmt: skip
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/reports.csv")
def reports_csv(
    db: SessionDep, state: StateDep, _user: HallManager, start: str | None = None,
    end: str | None = None,
) -> Response:  # fmt: skip
    return _download(db, state, start, end, "csv")


@router.get("/reports.xlsx")
def reports_xlsx(
    db: SessionDep, state: StateDep, _user: HallManager, start: str | None = None,
    end: str | None = None,
) -> Response:  # fmt: skip
    return _download(db, state, start, end, "xlsx")


@router.get("/fairness", response_class=HTMLResponse)
def fairness(
    request: Request,
    db: SessionDep,
    state: StateDep,
    user: HallManager,
    start: str | None = None,
    end: str | None = None,
) -> HTMLResponse:
    try:
        period = _period(state, start, end)
    except BadPeriod as exc:
        return render(
            request, state, user, "queueing/fairness.html", status_code=400,
            error=str(exc), page=None, start=start or "", end=end or "",
        )  # fmt: skip
    return render(
        request, state, user, "queueing/fairness.html",
        error=None, page=fairness_page(db, period=period),
        start=f"{period.start:%Y-%m-%d}", end=f"{period.end:%Y-%m-%d}",
    )  # fmt: skip


@router.get("/fairness/verify", response_class=HTMLResponse)
def fairness_verify(
    request: Request, db: SessionDep, state: StateDep, _user: HallManager
) -> HTMLResponse:
    # On demand, not on every page view: the walk reads the whole chain.
    report = verify_chain(db)
    if report.ok:
        text, ok = f"哈希链完整：共校验 {report.entries} 条记录，未发现篡改。", True
    else:
        text, ok = (
            f"哈希链异常：记录 #{report.first_bad_id}（第 {report.entries} 条）{report.problem}。",
            False,
        )
    return state.templates.TemplateResponse(request, "_flash.html", {"text": text, "ok": ok})
