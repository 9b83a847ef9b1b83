"""The 设备管理 page: a table that htmx refreshes every second, and its buttons."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from broker.contract import DeviceId, DeviceKind, ResultStatus, utcnow
from central.auth.models import ROLE_LABELS, Role, User
from central.deps import (
    CsrfChecked,
    DeviceAdmin,
    DeviceViewer,
    SessionDep,
    WriteSessionDep,
    csrf_token,
)
from central.devices import boards, service
from central.devices.alerts import Alert, device_alerts
from central.devices.bridge import CommandRefused, HubOffline
from central.devices.models import Device
from central.devices.service import KIND_LABELS, DeviceNotFound, SettingsInvalid
from central.state import HubState, StateDep

router = APIRouter(tags=["pages"], dependencies=[CsrfChecked])

# A ping should feel instant; a device that needs longer is in trouble anyway.
PING_TIMEOUT_S = 3.0
# The bind form's "no transfer target" (a service code cannot be "-").
NO_TARGET = "-"

RESULT_LABELS = {
    ResultStatus.SUCCEEDED: "成功",
    ResultStatus.FAILED: "失败",
    ResultStatus.REJECTED: "被拒绝",
    ResultStatus.EXPIRED: "超时未响应",
    ResultStatus.RECEIVED: "已接收",
}


def _row(d: Device, now: dt.datetime, zone: dt.tzinfo, alert: Alert | None) -> dict[str, Any]:
    beat = d.last_heartbeat
    if d.retired:
        state, css = "已退役", "retired"
    elif d.online:
        state, css = "在线", "online"
    else:
        state, css = "离线", "offline"
    return {
        "id": d.id,
        "kind": KIND_LABELS.get(d.kind, d.kind),
        "state": state,
        "state_css": css,
        "enabled": d.enabled,
        "retired": d.retired,
        "version": d.version,
        "heartbeat": beat.astimezone(zone).strftime("%m-%d %H:%M:%S") if beat else "—",
        "heartbeat_age": _age(now - beat) if beat else "",
        "is_caller": d.kind == DeviceKind.CALLER,
        "window": (d.settings or {}).get("window"),
        "board": boards.summary(d.settings or {}) if d.kind == DeviceKind.DISPLAY else None,
        "alert": _alert(alert, now, zone) if alert is not None else None,
    }


def _alert(alert: Alert, now: dt.datetime, zone: dt.tzinfo) -> dict[str, str]:
    return {
        "label": alert.label,
        "reason": alert.reason,
        "at": alert.at.astimezone(zone).strftime("%m-%d %H:%M:%S"),
        "age": _age(now - alert.at),
        "source": "心跳报告" if alert.source == "heartbeat" else "设备上报",
    }


def _age(delta: dt.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} 秒前"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前"
    if seconds < 86400:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        # A Pi image without tzdata: China has one offset and no daylight saving.
        return dt.timezone(dt.timedelta(hours=8), "CST") if name == "Asia/Shanghai" else dt.UTC


def _table_context(
    db: Session, state: HubState, user: User, devices: list[Device], *, oob: bool
) -> dict[str, Any]:
    zone = _zone(state.settings.hub.display_timezone)
    now = utcnow()
    alerts = device_alerts(db, devices, now=now)
    rows = [_row(d, now, zone, alerts.get(d.id)) for d in devices]
    # Problems first: staff should not have to scroll to find a dry printer.
    rows.sort(key=lambda r: r["alert"] is None)
    return {
        "rows": rows,
        "is_admin": user.role_enum == Role.ADMIN,
        "online": sum(1 for d in devices if d.online and not d.retired),
        "alerts": len(alerts),
        "oob": oob,
    }


def _table(request: Request, state: HubState, context: dict[str, Any]) -> HTMLResponse:
    return state.templates.TemplateResponse(request, "devices/_table.html", context)


@router.get("/devices", response_class=HTMLResponse)
def devices_page(
    request: Request, db: SessionDep, state: StateDep, user: DeviceViewer
) -> HTMLResponse:
    devices = service.list_devices(db)
    context = _table_context(db, state, user, devices, oob=False)
    table = _table(request, state, context)
    targets = transfer_targets_in(db)
    names = dict(targets)
    callers = [
        _caller_form(d, names) for d in devices if d.kind == DeviceKind.CALLER and not d.retired
    ]
    displays = [_display_form(d) for d in devices if d.kind == DeviceKind.DISPLAY and not d.retired]
    return state.templates.TemplateResponse(
        request,
        "devices/page.html",
        {
            "is_admin": user.role_enum == Role.ADMIN,
            "callers": callers,
            "transfer_targets": targets,
            "no_target": NO_TARGET,
            "displays": displays,
            "board_labels": boards.BOARD_LABELS,
            "user": user,
            "role_label": ROLE_LABELS[user.role_enum],
            "csrf": csrf_token(request),
            "table": bytes(table.body).decode(),
            "alerts": context["alerts"],
            "hall_name": state.settings.hall_name,
        },
    )


@router.get("/devices/table", response_class=HTMLResponse)
def devices_table(
    request: Request, db: SessionDep, state: StateDep, user: DeviceViewer
) -> HTMLResponse:
    context = _table_context(db, state, user, service.list_devices(db), oob=True)
    return _table(request, state, context)


def _flash(request: Request, state: HubState, text: str, *, ok: bool) -> HTMLResponse:
    response = state.templates.TemplateResponse(request, "_flash.html", {"text": text, "ok": ok})
    # The table listens for this and refreshes at once instead of on the next tick.
    response.headers["HX-Trigger"] = "devices-changed"
    return response


@router.post("/devices/{device_id}/ping", response_class=HTMLResponse)
async def ping(
    request: Request, device_id: DeviceId, state: StateDep, _user: DeviceViewer
) -> HTMLResponse:
    try:
        result = await state.bridge.send_command(device_id, "ping", {}, PING_TIMEOUT_S)
    except (DeviceNotFound, CommandRefused, HubOffline) as exc:
        return _flash(request, state, f"无法检测设备 {device_id}：{_reason(exc)}", ok=False)
    ok = result.status == ResultStatus.SUCCEEDED
    text = f"设备 {device_id} 检测{RESULT_LABELS[result.status]}"
    if result.detail and not ok:
        text += f"（{result.detail}）"
    return _flash(request, state, text, ok=ok)


def _caller_form(d: Device, names: dict[str, str]) -> dict[str, Any]:
    """A caller's binding as the form's field values and a one-line summary."""
    s = d.settings or {}
    window, target = s.get("window"), s.get("transfer_to")
    parts = [f"{window} 号窗口" if window else "未绑定窗口"]
    if target:
        parts.append(f"转办键：{names.get(target, target)}（{target}）")
    else:
        parts.append("转办键未设置")
    return {
        "id": d.id,
        "window": "" if window is None else str(window),
        "transfer_to": target or NO_TARGET,
        "summary": " · ".join(parts),
    }


@router.post("/devices/bind", response_class=HTMLResponse)
async def bind(
    request: Request,
    db: WriteSessionDep,
    state: StateDep,
    _user: DeviceAdmin,
    device_id: Annotated[str, Form()],
    window: Annotated[str, Form()] = "",
    transfer_to: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """Bind a caller to a window (blank: unbind) and set the service its transfer
    button sends tickets to (`NO_TARGET`: none; a form without the field leaves
    it, and so does a blank, which FastAPI cannot tell from a missing field);
    the caller gets both in its config."""
    text = window.strip()
    if text and not text.isdigit():
        return _flash(request, state, "窗口号应为正整数", ok=False)
    number = int(text) if text else None
    if number is not None and not await asyncio.to_thread(window_exists_in, db, number):
        return _flash(request, state, f"大厅没有 {number} 号窗口", ok=False)
    values: dict[str, Any] = {"window": number}
    if transfer_to is not None:
        target = None if transfer_to.strip() == NO_TARGET else transfer_to.strip()
        if target is not None and not await asyncio.to_thread(service_exists_in, db, target):
            return _flash(request, state, f"大厅没有业务 {target}", ok=False)
        values["transfer_to"] = target
    try:
        await state.bridge.update_settings(device_id, values)
    except (DeviceNotFound, SettingsInvalid) as exc:
        return _flash(request, state, _reason(exc), ok=False)
    done = f"已绑定到 {number} 号窗口" if number is not None else "已解除窗口绑定"
    if transfer_to is not None:
        target = values["transfer_to"]
        done += f"，转办键转到业务 {target}" if target else "，转办键未设置"
    return _flash(request, state, f"呼叫器 {device_id} {done}", ok=True)


def _chime_choice(value: object) -> str:
    """The chime select: the device's own ("") unless the hub set it."""
    return "on" if value is True else "off" if value is False else ""


def _display_form(d: Device) -> dict[str, Any]:
    """A display's current settings as the form's field values."""
    s = d.settings or {}

    def shown(name: str) -> str:
        value = s.get(name)
        return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    return {
        "id": d.id,
        "summary": boards.summary(s),
        "board": s.get("board") or "hall",
        "area": shown("area"),
        "services": " ".join(s.get("services") or []),
        "window": shown("window"),
        "title": shown("title"),
        "notices": "\n".join(s.get("notices") or []),
        "highlight_s": shown("highlight_s"),
        "calls_shown": shown("calls_shown"),
        "announce": s.get("announce", True) is not False,
        "serial_lines": shown("serial_lines"),
        "voice_repeat": shown("voice_repeat"),
        "voice_busy_repeat": shown("voice_busy_repeat"),
        "voice_max_wait_s": shown("voice_max_wait_s"),
        "voice_chime": _chime_choice(s.get("voice_chime")),
    }


@router.post("/devices/display-settings", response_class=HTMLResponse)
async def display_settings(request: Request, state: StateDep, _user: DeviceAdmin) -> HTMLResponse:
    """A display's board settings (blank fields: the board's defaults), published
    in its retained config; the board changes at once."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    device_id = fields.get("device_id", "")
    try:
        values = boards.parse_form(fields)
        device = await state.bridge.update_settings(device_id, values)
    except ValueError as exc:  # SettingsInvalid is one
        return _flash(request, state, str(exc), ok=False)
    except DeviceNotFound as exc:
        return _flash(request, state, _reason(exc), ok=False)
    summary = boards.summary(device.settings or {})
    return _flash(request, state, f"显示屏 {device_id} 已更新：{summary}", ok=True)


def window_exists_in(db: Session, number: int) -> bool:
    from central.queueing.callers import window_exists

    try:
        return window_exists(db, number)
    finally:
        db.rollback()


def service_exists_in(db: Session, code: str) -> bool:
    from central.queueing.callers import service_exists

    try:
        return service_exists(db, code)
    finally:
        db.rollback()


def transfer_targets_in(db: Session) -> list[tuple[str, str]]:
    from central.queueing.callers import transfer_targets

    return transfer_targets(db)


@router.post("/devices/{device_id}/{action}", response_class=HTMLResponse)
async def change(
    request: Request, device_id: DeviceId, action: str, state: StateDep, _user: DeviceAdmin
) -> HTMLResponse:
    labels = {"enable": "已启用", "disable": "已停用", "retire": "已退役"}
    if action not in labels:
        return _flash(request, state, "未知操作", ok=False)
    try:
        if action == "retire":
            await state.bridge.retire(device_id)
        else:
            await state.bridge.set_enabled(device_id, enabled=action == "enable")
    except DeviceNotFound as exc:
        return _flash(request, state, _reason(exc), ok=False)
    return _flash(request, state, f"设备 {device_id} {labels[action]}", ok=True)


def _reason(exc: Exception) -> str:
    if isinstance(exc, DeviceNotFound):
        return f"设备 {exc.device_id} 尚未上线过"
    if isinstance(exc, HubOffline):
        return "中心未连接消息服务器"
    if isinstance(exc, SettingsInvalid):
        return str(exc)
    if isinstance(exc, CommandRefused):
        return "设备已退役" if exc.why == "retired" else "设备离线"
    return str(exc)
