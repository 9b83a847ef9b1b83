"""Alerts for staff on the 设备管理 page: a kiosk's printer, a display's voice.

A kiosk reports a print the printer did not take as a ``printer_problem``
event (``state``, ``detail``) and its printer's state in every heartbeat
(``ports.printer``); a display reports every announcement as an
``announcement`` event (``status`` played/failed, ``reason``, ``ticket``,
``window``) and its speaker's state in every heartbeat (``ports.speaker``,
``failed: …`` until a call is heard again).

The rule, per device and port — whichever report came last decides:

- a problem event (any ``printer_problem``; an ``announcement`` with
  ``status: failed``) raises the alert, with the event's time and reason;
- a later event that says the port works (an ``announcement`` played)
  clears it;
- a heartbeat received after the event clears it when it says the port
  works (printer ``ok`` or ``paper_near_end`` — it still prints; speaker
  ``ok``), and keeps it when it cannot tell (``unknown``, ``preparing``);
- a heartbeat that says the port is in trouble (printer ``paper_out``,
  ``cover_open``, ``offline``; speaker ``failed: …``) raises the alert by
  itself, so staff see a printer that ran dry while nobody printed;
- events older than `MAX_AGE` are forgotten (a printer that cannot report
  status would otherwise stay red for ever; one still in trouble says so
  in its heartbeat).

An ``announcement`` with ``status: skipped`` (the display's backlog policy
dropped a call that waited too long: `display.voice.speaker`) says nothing
about whether the speaker works: it neither raises nor clears 语音播报失败.
Skips within the last `BACKLOG_WINDOW` show as their own, milder alert,
语音叫号积压, with how many calls went unheard — unless the voice has failed,
which is the more urgent news.

Times are the hub's reception times, like the heartbeat column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from broker.contract import DeviceKind
from central.devices.models import Device, DeviceEvent

MAX_AGE: Final = dt.timedelta(hours=12)
BACKLOG_WINDOW: Final = dt.timedelta(minutes=15)

PRINTER_EVENT: Final = "printer_problem"
VOICE_EVENT: Final = "announcement"

PRINTER_LABELS: Final[dict[str, str]] = {
    "paper_out": "打印机缺纸",
    "cover_open": "打印机纸仓盖未关",
    "offline": "打印机离线",
    "unknown": "打印失败",
}
PRINTER_DETAILS: Final[dict[str, str]] = {
    "paper_out": "打印机缺纸，请更换打印纸",
    "cover_open": "打印机纸仓盖未关好",
    "offline": "打印机离线或未开机",
}
PRINTER_FINE: Final = frozenset({"ok", "paper_near_end"})
VOICE_LABEL: Final = "语音播报失败"
BACKLOG_LABEL: Final = "语音叫号积压"
SKIPPED: Final = "skipped"


@dataclass(frozen=True)
class Alert:
    """One red badge: what is wrong, why, and since when (hub time, UTC)."""

    device_id: str
    label: str  # 打印机缺纸 / 语音播报失败 …
    reason: str  # Chinese where the device gave Chinese
    at: dt.datetime
    source: str  # "event" or "heartbeat"


def _port(device: Device, name: str) -> str | None:
    ports = (device.health or {}).get("ports") or {}
    value = ports.get(name)
    return str(value) if value is not None else None


def _newest(
    session: Session, device_id: str, name: str, since: dt.datetime, *, skipped: bool = True
) -> DeviceEvent | None:
    query = select(DeviceEvent).where(
        DeviceEvent.device_id == device_id,
        DeviceEvent.name == name,
        DeviceEvent.received_at >= since,
    )
    if not skipped:
        status = DeviceEvent.data["status"].as_string()
        query = query.where(or_(status.is_(None), status != SKIPPED))
    return session.scalar(query.order_by(DeviceEvent.id.desc()).limit(1))


def backlog_alert(session: Session, device: Device, *, now: dt.datetime) -> Alert | None:
    """Calls the display's speaker skipped lately because they waited too long."""
    status = DeviceEvent.data["status"].as_string()
    recent = (
        DeviceEvent.device_id == device.id,
        DeviceEvent.name == VOICE_EVENT,
        DeviceEvent.received_at >= now - BACKLOG_WINDOW,
        status == SKIPPED,
    )
    count = session.scalar(select(func.count()).select_from(DeviceEvent).where(*recent)) or 0
    if not count:
        return None
    last = session.scalar(select(DeviceEvent).where(*recent).order_by(DeviceEvent.id.desc()))
    assert last is not None
    data: dict[str, Any] = last.data or {}
    minutes = int(BACKLOG_WINDOW.total_seconds() // 60)
    reason = (
        f"近 {minutes} 分钟有 {count} 次叫号排队过久，未播报（最近：{data.get('ticket')} 号 → "
        f"{data.get('window')} 号窗口）。大厅较大时请为各区域配置区域屏和音箱"
    )
    return Alert(device.id, BACKLOG_LABEL, reason, last.received_at, "event")


def _decide(
    device: Device,
    event: DeviceEvent | None,
    event_alert: Alert | None,
    health: str | None,
    health_alert: Alert | None,
    fine: bool,
) -> Alert | None:
    beat = device.last_heartbeat
    if event is not None and (beat is None or beat <= event.received_at):
        return event_alert  # the event is the newest word
    if health_alert is not None:
        # Same trouble as the event said: keep the event's time and words.
        if event_alert is not None and event_alert.label == health_alert.label:
            return event_alert
        return health_alert
    if health is not None and fine:
        return None
    return event_alert


def printer_alert(device: Device, event: DeviceEvent | None) -> Alert | None:
    event_alert = None
    if event is not None:
        data: dict[str, Any] = event.data or {}
        state = str(data.get("state") or "unknown")
        event_alert = Alert(
            device.id,
            PRINTER_LABELS.get(state, "打印失败"),
            str(data.get("detail") or PRINTER_DETAILS.get(state, "")),
            event.received_at,
            "event",
        )
    health = _port(device, "printer")
    health_alert = None
    if health in PRINTER_DETAILS and device.last_heartbeat is not None:
        health_alert = Alert(
            device.id,
            PRINTER_LABELS[health],
            PRINTER_DETAILS[health],
            device.last_heartbeat,
            "heartbeat",
        )
    return _decide(device, event, event_alert, health, health_alert, health in PRINTER_FINE)


def voice_alert(device: Device, event: DeviceEvent | None) -> Alert | None:
    event_alert = None
    data: dict[str, Any] = (event.data or {}) if event is not None else {}
    if event is not None and data.get("status") == "failed":
        reason = str(data.get("reason") or "原因未知")
        ticket, window = data.get("ticket"), data.get("window")
        if ticket and window:
            reason = f"{ticket} 号 → {window} 号窗口：{reason}"
        event_alert = Alert(device.id, VOICE_LABEL, reason, event.received_at, "event")
    health = _port(device, "speaker")
    health_alert = None
    if health is not None and health.startswith("failed") and device.last_heartbeat is not None:
        reason = health.removeprefix("failed").lstrip(": ") or "原因未知"
        health_alert = Alert(device.id, VOICE_LABEL, reason, device.last_heartbeat, "heartbeat")
    return _decide(device, event, event_alert, health, health_alert, health == "ok")


def device_alerts(session: Session, devices: list[Device], *, now: dt.datetime) -> dict[str, Alert]:
    """Device id -> its alert, for the kiosks and displays that have one."""
    since = now - MAX_AGE
    out: dict[str, Alert] = {}
    for device in devices:
        if device.retired:
            continue
        alert = None
        if device.kind == DeviceKind.KIOSK:
            alert = printer_alert(device, _newest(session, device.id, PRINTER_EVENT, since))
        elif device.kind == DeviceKind.DISPLAY:
            newest = _newest(session, device.id, VOICE_EVENT, since, skipped=False)
            alert = voice_alert(device, newest) or backlog_alert(session, device, now=now)
        if alert is not None:
            out[device.id] = alert
    return out
