"""Small edits from the 大厅配置 page: one service's hours and limits, one
window's services and weights. Checked by the same document models as an
import, so a value refused in YAML is refused in a form too. Callers commit.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from central.queueing.hallschema import (
    HallDocInvalid,
    Problem,
    ServiceDoc,
    WindowDoc,
    format_hours,
    parse_doc,
    parse_hours,
)
from central.queueing.models import Service, ServiceArea, Window, WindowService

FIELD_LABELS = {
    "hours": "营业时间",
    "daily_cap": "每日上限",
    "avg_minutes": "平均办理时长",
    "notify_ahead": "提前提醒人数",
    "services": "服务",
}


def _labelled(problems: list[Problem], prefix: str) -> list[Problem]:
    out = []
    for p in problems:
        field = p.path.removeprefix(prefix).split(".")[0].split("[")[0]
        out.append(Problem(FIELD_LABELS.get(field, p.path), p.message))
    return out


def update_service(
    session: Session,
    *,
    code: str,
    hours: str,
    daily_cap: int | None,
    avg_minutes: float,
    notify_ahead: int,
) -> list[Problem]:
    """Change what the page edits of a service; the problems, or none when saved."""
    row = session.scalar(select(Service).where(Service.code == code, Service.active))
    if row is None:
        return [Problem("服务", f"服务 {code} 不存在或已停用")]
    area = session.get(ServiceArea, row.area_id)
    assert area is not None
    current = {
        "code": row.code, "name": row.name, "area": area.code, "prefix": row.prefix,
        "numbers": (row.number_start, row.number_end),
        "hours": format_hours(row.opens_at, row.closes_at),
    }  # fmt: skip
    changes = {
        "hours": hours,
        "daily_cap": daily_cap,
        "avg_minutes": avg_minutes,
        "notify_ahead": notify_ahead,
    }
    try:
        doc = parse_doc({"services": [current | changes]}).services[0]
    except HallDocInvalid as exc:
        return _labelled(exc.problems, "services[0].")
    size = doc.numbers[1] - doc.numbers[0] + 1
    if doc.daily_cap is not None and doc.daily_cap > size:
        return [Problem("每日上限", f"每日上限 {doc.daily_cap} 超过号段容量 {size}")]
    _apply(row, doc)
    session.flush()
    return []


def _apply(row: Service, doc: ServiceDoc) -> None:
    row.opens_at, row.closes_at = parse_hours(doc.hours)
    row.daily_cap = doc.daily_cap
    row.avg_handling_s = doc.avg_handling_s
    row.notify_ahead = doc.notify_ahead


def set_window_services(
    session: Session, *, number: int, weights: dict[str, float]
) -> list[Problem]:
    """Replace a window's services and weights (a weight of 0 removes a service)."""
    window = session.scalar(select(Window).where(Window.number == number, Window.active))
    if window is None:
        return [Problem("窗口", f"{number} 号窗口不存在或已停用")]
    area = session.get(ServiceArea, window.area_id)
    assert area is not None
    wanted = {code: w for code, w in weights.items() if w != 0}
    try:
        doc: WindowDoc = parse_doc(
            {"windows": [{"number": number, "name": window.name, "area": area.code,
                          "kind": window.kind, "services": wanted}]}
        ).windows[0]  # fmt: skip
    except HallDocInvalid as exc:
        problems = _labelled(exc.problems, "windows[0].")
        if not wanted:
            return [Problem("服务", "窗口至少要办理一项服务")]
        return problems
    services = {
        s.code: s.id
        for s in session.scalars(select(Service).where(Service.code.in_(list(doc.services))))
        if s.active
    }
    unknown = [c for c in doc.services if c not in services]
    if unknown:
        return [Problem("服务", f"服务 {c} 不存在或已停用") for c in unknown]
    session.execute(delete(WindowService).where(WindowService.window_id == window.id))
    session.add_all(
        WindowService(window_id=window.id, service_id=services[c], weight=w)
        for c, w in doc.services.items()
    )
    session.flush()
    return []
