"""Pages of the interpreter service: the interpreter's console (``/interpreting``),
手语翻译统计 (``/interpreting/stats`` with CSV and XLSX), 通话记录
(``/interpreting/records``: each request with its 录像 column) and 人员测算
(``/interpreting/staffing``, an Erlang C form).

Routes that read the live ACD are ``async``: the ACD belongs to the event
loop and is read only there.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from central.auth.models import Role, User
from central.deps import CsrfChecked, SessionDep, require_roles
from central.interpreting import erlang
from central.interpreting.live import OUTCOMES, STATUS_LABELS
from central.interpreting.recordings import RECORDS_SHOWN, call_records
from central.interpreting.reportfiles import HEADERS, cells, to_csv, to_xlsx
from central.interpreting.reports import interpreting_report
from central.interpreting.service import interpreting_of
from central.queueing.period import BadPeriod, Period, hall_period
from central.queueing.views import render
from central.state import HubState, StateDep

router = APIRouter(tags=["interpreting"], dependencies=[CsrfChecked])

InterpreterUser = Annotated[User, Depends(require_roles(Role.INTERPRETER))]
StatsViewer = Annotated[User, Depends(require_roles(Role.ADMIN, Role.MANAGER))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _ice_servers(state: HubState) -> list[dict[str, Any]]:
    s = state.settings.interpreting
    servers: list[dict[str, Any]] = []
    for url in s.ice_servers:
        entry: dict[str, Any] = {"urls": url}
        if url.startswith(("turn:", "turns:")) and s.turn_username and s.turn_password:
            entry |= {"username": s.turn_username, "credential": s.turn_password.get_secret_value()}
        servers.append(entry)
    return servers


@router.get("/interpreting", response_class=HTMLResponse, include_in_schema=False)
async def console_page(request: Request, state: StateDep, user: InterpreterUser) -> HTMLResponse:
    acd = interpreting_of(request.app).acd
    return render(
        request, state, user, "interpreting/console.html",
        view=acd.console_view(user.id), statuses=STATUS_LABELS, outcomes=OUTCOMES,
        ice_servers=_ice_servers(state),
        offer_timeout_s=state.settings.interpreting.offer_timeout_s,
    )  # fmt: skip


@router.get("/api/v1/interpreting/console/state")
async def console_state(request: Request, user: InterpreterUser) -> dict[str, object]:
    """The console's own state and the queue, polled by the console page."""
    return interpreting_of(request.app).acd.console_view(user.id)


def _period(state: HubState, start: str | None, end: str | None) -> Period:
    return hall_period(
        start, end, timezone=state.settings.hub.display_timezone, now=state.clock.now()
    )


@router.get("/interpreting/stats", response_class=HTMLResponse, include_in_schema=False)
async def stats_page(
    request: Request,
    db: SessionDep,
    state: StateDep,
    user: StatsViewer,
    start: str | None = None,
    end: str | None = None,
) -> HTMLResponse:
    acd = interpreting_of(request.app).acd
    live = {
        "waiting": len(acd.waiting()),
        "interpreters": [
            (i.name, STATUS_LABELS[i.status], i.link is not None, i.call is not None)
            for i in sorted(acd.interpreters.values(), key=lambda i: i.name)
        ],
    }
    try:
        period = _period(state, start, end)
    except BadPeriod as exc:
        return render(
            request, state, user, "interpreting/stats.html", status_code=400,
            error=str(exc), report=None, live=live, start=start or "", end=end or "",
        )  # fmt: skip
    report = await run_in_threadpool(interpreting_report, db, period=period)
    return render(
        request, state, user, "interpreting/stats.html", error=None, report=report,
        headers=HEADERS, cells=cells, live=live,
        start=f"{period.start:%Y-%m-%d}", end=f"{period.end:%Y-%m-%d}",
    )  # fmt: skip


@router.get("/interpreting/records", response_class=HTMLResponse, include_in_schema=False)
async def records_page(
    request: Request,
    db: SessionDep,
    state: StateDep,
    user: StatsViewer,
    start: str | None = None,
    end: str | None = None,
) -> HTMLResponse:
    try:
        period = _period(state, start, end)
    except BadPeriod as exc:
        return render(
            request, state, user, "interpreting/records.html", status_code=400,
            error=str(exc), records=None, start=start or "", end=end or "",
        )  # fmt: skip
    records = await run_in_threadpool(call_records, db, period=period)
    return render(
        request, state, user, "interpreting/records.html", error=None, records=records,
        period=period, shown_max=RECORDS_SHOWN,
        start=f"{period.start:%Y-%m-%d}", end=f"{period.end:%Y-%m-%d}",
    )  # fmt: skip


def _download(db: SessionDep, state: HubState, start: str | None, end: str | None,
              kind: str) -> Response:  # fmt: skip
    try:
        period = _period(state, start, end)
    except BadPeriod as exc:
        return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
    report = interpreting_report(db, period=period)
    body, media = (to_csv(report), "text/csv; charset=utf-8") if kind == "csv" else (
        to_xlsx(report), XLSX)  # fmt: skip
    name = f"interpreting-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{kind}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/interpreting/stats.csv")
def stats_csv(db: SessionDep, state: StateDep, _user: StatsViewer,
              start: str | None = None, end: str | None = None) -> Response:  # fmt: skip
    return _download(db, state, start, end, "csv")


@router.get("/interpreting/stats.xlsx")
def stats_xlsx(db: SessionDep, state: StateDep, _user: StatsViewer,
               start: str | None = None, end: str | None = None) -> Response:  # fmt: skip
    return _download(db, state, start, end, "xlsx")


@router.get("/interpreting/staffing", response_class=HTMLResponse, include_in_schema=False)
def staffing_page(
    request: Request,
    state: StateDep,
    user: StatsViewer,
    calls_per_hour: str = "12",
    aht_s: str = "600",
    target: str = "85",
    within_s: str = "30",
) -> HTMLResponse:
    form = {"calls_per_hour": calls_per_hour, "aht_s": aht_s, "target": target,
            "within_s": within_s}  # fmt: skip
    try:
        calls, aht, share, within = (float(calls_per_hour), float(aht_s),
                                     float(target) / 100, float(within_s))  # fmt: skip
        if not all(math.isfinite(v) for v in (calls, aht, share, within)) or calls <= 0:
            raise ValueError("每小时请求数应为正数")
        need = erlang.agents_needed(calls_per_hour=calls, aht_s=aht, target=share, within_s=within)
    except ValueError as exc:
        message = str(exc)
        if "could not convert" in message:
            message = "请填写数字"
        return render(request, state, user, "interpreting/staffing.html", status_code=400,
                      form=form, error=message, need=None, rows=[])  # fmt: skip
    low = max(1, math.floor(need.erlangs) + 1)
    rows = [
        erlang.staffing(n, calls_per_hour=calls, aht_s=aht, within_s=within)
        for n in range(low, need.agents + 3)
    ]
    return render(request, state, user, "interpreting/staffing.html", form=form, error=None,
                  need=need, rows=rows, target_share=share)  # fmt: skip
