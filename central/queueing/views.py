"""The 大厅配置 page: the hall's areas, services, windows and clerks; edits of
service hours and limits and of window weights; YAML download and upload.
Admins and hall managers only."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.auth.models import ROLE_LABELS, Role, User
from central.deps import CsrfChecked, SessionDep, WriteSessionDep, csrf_token, require_roles
from central.queueing import halledit
from central.queueing.hallconfig import (
    HallDocInvalid,
    ImportReport,
    Problem,
    dump_yaml,
    export_hall,
    import_hall,
    load_yaml,
)
from central.queueing.models import (
    ClerkService,
    Service,
    ServiceArea,
    Window,
    WindowKind,
    WindowService,
)
from central.queueing.period import hall_zone
from central.state import HubState, StateDep

router = APIRouter(tags=["pages"], dependencies=[CsrfChecked])

HallManager = Annotated[User, Depends(require_roles(Role.ADMIN, Role.MANAGER))]

# A 60-window hall is about 30 KB of YAML; anything far larger is a wrong file.
MAX_UPLOAD = 2 * 1024 * 1024
_FLASH = "hall_flash"

WINDOW_KIND_LABELS = {
    WindowKind.COMPREHENSIVE: "综合窗口",
    WindowKind.DEDICATED: "专窗",
    WindowKind.GREEN: "绿色通道",
    WindowKind.HELPER: "帮办代办",
}


def render(
    request: Request, state: HubState, user: User, template: str, status_code: int = 200,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    """A page with the admin header (user, role, CSRF token, hall name)."""
    return state.templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "role_label": ROLE_LABELS[user.role_enum],
            "csrf": csrf_token(request),
            "hall_name": state.settings.hall_name,
            **context,
        },
        status_code=status_code,
    )


def _hall(session: Session) -> dict[str, Any]:
    areas = list(session.scalars(select(ServiceArea).order_by(ServiceArea.sort, ServiceArea.id)))
    services = list(session.scalars(select(Service).where(Service.active).order_by(Service.prefix)))
    windows = list(session.scalars(select(Window).where(Window.active).order_by(Window.number)))
    by_id = {s.id: s for s in services}
    weights: dict[int, dict[str, float]] = defaultdict(dict)
    for ws in session.scalars(select(WindowService).order_by(WindowService.weight.desc())):
        if ws.service_id in by_id:
            weights[ws.window_id][by_id[ws.service_id].code] = ws.weight
    certs: dict[int, list[Service]] = defaultdict(list)
    for cs in session.scalars(select(ClerkService)):
        if cs.service_id in by_id:
            certs[cs.user_id].append(by_id[cs.service_id])
    clerks = session.scalars(
        select(User)
        .where((User.role == Role.CLERK.value) | User.id.in_(list(certs)))
        .order_by(User.username)
    )
    area_names = {a.id: a.name for a in areas}
    return {
        "areas": [
            {
                "code": a.code,
                "name": a.name,
                "services": sum(1 for s in services if s.area_id == a.id),
                "windows": sum(1 for w in windows if w.area_id == a.id),
            }
            for a in areas
        ],
        "services": [
            {
                "row": s,
                "area": area_names.get(s.area_id, ""),
                "opens": f"{s.opens_at:%H:%M}",
                "closes": f"{s.closes_at:%H:%M}",
                "avg_minutes": _number(round(s.avg_handling_s / 60, 2)),
            }
            for s in services
        ],
        "windows": [
            {
                "row": w,
                "area": area_names.get(w.area_id, ""),
                "kind": WINDOW_KIND_LABELS.get(w.kind, w.kind),  # type: ignore[call-overload]
                "weights": weights.get(w.id, {}),
            }
            for w in windows
        ],
        "clerks": [
            {
                "row": u,
                "services": sorted(certs.get(u.id, []), key=lambda s: s.prefix),
            }
            for u in clerks
        ],
        "service_names": {s.code: f"{s.prefix} {s.name}" for s in services},
    }


def _number(value: float) -> str:
    """10.0 → "10", 7.5 → "7.5": what a person would type."""
    return f"{value:g}"


@router.get("/hall", response_class=HTMLResponse)
def hall_page(request: Request, db: SessionDep, state: StateDep, user: HallManager) -> Response:
    flash = request.session.pop(_FLASH, None)
    return render(
        request, state, user, "queueing/hall.html", flash=flash, kinds=WINDOW_KIND_LABELS,
        **_hall(db),
    )  # fmt: skip


def _done(request: Request, text: str, *, ok: bool, anchor: str) -> RedirectResponse:
    # Post/redirect/get: a reload does not resubmit, and the message survives the redirect.
    request.session[_FLASH] = {"text": text, "ok": ok}
    return RedirectResponse(f"/hall#{anchor}", status.HTTP_303_SEE_OTHER)


def _optional_int(value: str) -> int | str | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value  # pydantic refuses it with the field's name


@router.post("/hall/services/{code}")
def save_service(
    request: Request,
    code: str,
    db: WriteSessionDep,
    _user: HallManager,
    opens: Annotated[str, Form(max_length=5)],
    closes: Annotated[str, Form(max_length=5)],
    avg_minutes: Annotated[str, Form(max_length=10)],
    notify_ahead: Annotated[str, Form(max_length=10)],
    daily_cap: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    problems = halledit.update_service(
        db,
        code=code,
        hours=f"{opens}-{closes}",
        daily_cap=_optional_int(daily_cap),  # type: ignore[arg-type]  # checked by pydantic
        avg_minutes=avg_minutes.strip() or 0,  # type: ignore[arg-type]
        notify_ahead=notify_ahead.strip() or 0,  # type: ignore[arg-type]
    )
    if problems:
        db.rollback()
        text = "未保存：" + "；".join(f"{p.path}{p.message}" for p in problems)
        return _done(request, text, ok=False, anchor=f"svc-{code}")
    db.commit()
    return _done(request, f"已保存服务 {code} 的设置", ok=True, anchor=f"svc-{code}")


@router.post("/hall/windows/{number}")
async def save_window(
    request: Request, number: int, db: WriteSessionDep, _user: HallManager
) -> RedirectResponse:
    form = await request.form()
    weights: dict[str, float] = {}
    bad: list[str] = []
    for name, value in form.multi_items():
        if not name.startswith("w_") or not isinstance(value, str) or not value.strip():
            continue
        try:
            weights[name[2:]] = float(value)
        except ValueError:
            bad.append(name[2:])
    if bad:
        text = f"未保存：权重应为数字（{'、'.join(bad)}）"
        return _done(request, text, ok=False, anchor=f"win-{number}")
    problems = halledit.set_window_services(db, number=number, weights=weights)
    if problems:
        db.rollback()
        text = "未保存：" + "；".join(f"{p.path}：{p.message}" for p in problems)
        return _done(request, text, ok=False, anchor=f"win-{number}")
    db.commit()
    return _done(request, f"已保存 {number} 号窗口的服务与权重", ok=True, anchor=f"win-{number}")


@router.get("/hall/export.yaml")
def export_yaml(db: SessionDep, state: StateDep, _user: HallManager) -> Response:
    today = dt.datetime.now(hall_zone(state.settings.hub.display_timezone)).date()
    return Response(
        dump_yaml(export_hall(db)).encode(),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="hall-{today:%Y%m%d}.yaml"'},
    )


@router.post("/hall/import", response_class=HTMLResponse)
def import_yaml(
    request: Request,
    db: WriteSessionDep,
    state: StateDep,
    user: HallManager,
    file: Annotated[UploadFile, File()],
    replace: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    # A sync route on purpose: creating clerk accounts hashes passwords (argon2),
    # seconds of CPU that must not stall the event loop.
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        report = ImportReport()
        report.problems = [Problem("(文件)", "文件过大，大厅配置文件通常小于 100 KB")]
    else:
        try:
            db.rollback()  # end the sign-in check's read snapshot (see hallconfig)
            report = import_hall(db, load_yaml(data), replace=replace)
        except HallDocInvalid as exc:
            report = ImportReport(problems=exc.problems)
    if report.ok:
        db.commit()
    else:
        db.rollback()
    return render(
        request, state, user, "queueing/import_result.html",
        status_code=200 if report.ok else 422,
        report=report, filename=file.filename or "", replace=replace,
    )  # fmt: skip
