"""A display's board settings as an admin sets them (devices page, `anxin devices display`).

The keys are those `display.board.settings.BoardSettings` reads from the
retained config; the hub checks them with that same model, so a document the
hub accepts is one the board takes, and says what is wrong in Chinese. The
hub also checks them against the hall (the area, services and window exist).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from display.board.settings import BoardKind, BoardSettings
from display.voice.settings import VoiceSettings

BOARD_LABELS: Final[dict[str, str]] = {
    BoardKind.HALL: "综合屏",
    BoardKind.AREA: "区域屏",
    BoardKind.WINDOW: "窗口屏",
}

# name -> Chinese label, in the order of the form.
LABELS: Final[dict[str, str]] = {
    "board": "屏幕类型",
    "area": "区域代码",
    "services": "显示等候的业务",
    "window": "窗口号",
    "title": "标题",
    "notices": "滚动通知",
    "highlight_s": "新呼叫突出显示时长",
    "calls_shown": "显示的呼叫条数",
    "announce": "语音播报",
    "serial_lines": "LED 屏行数",
    "voice_repeat": "每次呼叫播报遍数",
    "voice_busy_repeat": "排队较多时播报遍数",
    "voice_max_wait_s": "语音积压超时",
    "voice_chime": "呼叫前提示音",
}

_RANGES: Final[dict[str, tuple[float, float, str]]] = {
    "highlight_s": (1, 30, "秒"),
    "calls_shown": (1, 20, "条"),
    "serial_lines": (1, 8, "行"),
    "voice_repeat": (1, 5, "遍"),
    "voice_busy_repeat": (1, 5, "遍"),
    "voice_max_wait_s": (0, 3600, "秒"),
}
_MAX_TEXT: Final = {"area": 32, "title": 40}
MAX_NOTICES: Final = 20
MAX_NOTICE_CHARS: Final = 200
_DEVICE_REPEAT: Final[int] = VoiceSettings.model_fields["repeat"].default


def check_value(name: str, value: Any) -> Any:
    """One setting, normalised; raises ValueError with a Chinese reason."""
    label = LABELS[name]
    if name == "board":
        if value not in BOARD_LABELS:
            raise ValueError("屏幕类型应为 hall（综合屏）、area（区域屏）或 window（窗口屏）")
        return str(value)
    if name in ("area", "title"):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{label}不能为空（留空即不设置）")
        text = value.strip()
        if len(text) > _MAX_TEXT[name]:
            raise ValueError(f"{label}最多 {_MAX_TEXT[name]} 个字")
        return text
    if name in ("services", "notices"):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{label}应为文字列表")
        items = [v.strip() for v in value if v.strip()]
        if name == "notices":
            if len(items) > MAX_NOTICES:
                raise ValueError(f"滚动通知最多 {MAX_NOTICES} 条")
            if any(len(v) > MAX_NOTICE_CHARS for v in items):
                raise ValueError(f"每条滚动通知最多 {MAX_NOTICE_CHARS} 个字")
        return items
    if name in ("announce", "voice_chime"):
        if not isinstance(value, bool):
            raise ValueError(f"{label}应为开或关")
        return value
    if name == "window":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("窗口号应为正整数")
        return value
    low, high, unit = _RANGES[name]
    whole = name not in ("highlight_s", "voice_max_wait_s")
    kind_ok = isinstance(value, int) if whole else isinstance(value, int | float)
    if isinstance(value, bool) or not kind_ok:
        raise ValueError(f"{label}应为{'整数' if whole else '数字'}")
    if not low <= value <= high:
        raise ValueError(f"{label}应在 {low:g}–{high:g} {unit}之间")
    return value


def check_document(settings: Mapping[str, Any]) -> None:
    """The merged settings as the board will read them; ValueError (Chinese) if not."""
    board = settings.get("board", BoardKind.HALL)
    if board == BoardKind.AREA and not settings.get("area"):
        raise ValueError("区域屏需要填写区域代码")
    if board == BoardKind.WINDOW and settings.get("window") is None:
        raise ValueError("窗口屏需要填写窗口号")
    repeat, busy = settings.get("voice_repeat"), settings.get("voice_busy_repeat")
    if busy is not None and busy > (repeat if repeat is not None else _DEVICE_REPEAT):
        # The device's own repeat is not known here: its default is assumed
        # (a device whose file says less refuses the pair and keeps its own).
        raise ValueError("排队较多时播报遍数不能多于每次呼叫播报遍数")
    try:
        BoardSettings.model_validate(dict(settings))
    except ValidationError as exc:  # a rule the checks above do not know yet
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        raise ValueError(f"显示屏设置有误：{LABELS.get(name, name)}（{first['msg']}）") from None


def hall_problem(session: Session, settings: Mapping[str, Any]) -> str | None:
    """What in the settings the hall does not have (Chinese), or None."""
    from central.queueing.models import Service, ServiceArea, Window

    area = settings.get("area")
    if area and session.scalar(select(ServiceArea.id).where(ServiceArea.code == area)) is None:
        return f"大厅没有区域“{area}”"
    codes = list(settings.get("services") or [])
    if codes:
        known = set(session.scalars(select(Service.code).where(Service.code.in_(codes))))
        missing = [c for c in codes if c not in known]
        if missing:
            return f"大厅没有业务“{'、'.join(missing)}”"
    window = settings.get("window")
    if window is not None:
        found = session.scalar(
            select(Window.id).where(Window.number == window, Window.active.is_(True))
        )
        if found is None:
            return f"大厅没有 {window} 号窗口"
    return None


def parse_form(fields: Mapping[str, str]) -> dict[str, Any]:
    """The devices page's form → settings to update (blank: back to the default).

    Services are separated by commas or spaces, notices one per line; the
    ``announce`` checkbox is absent when unticked. Raises ValueError (Chinese).
    """

    def text(name: str) -> str:
        return (fields.get(name) or "").strip()

    def number(name: str, whole: bool) -> int | float | None:
        raw = text(name)
        if not raw:
            return None
        try:
            return int(raw) if whole else float(raw)
        except ValueError:
            raise ValueError(f"{LABELS[name]}应为{'整数' if whole else '数字'}") from None

    out: dict[str, Any] = {
        "board": text("board") or None,
        "area": text("area") or None,
        "services": [s for s in text("services").replace("，", ",").replace(",", " ").split()]
        or None,
        "window": number("window", True),
        "title": text("title") or None,
        "notices": [n.strip() for n in text("notices").splitlines() if n.strip()] or None,
        "highlight_s": number("highlight_s", False),
        "calls_shown": number("calls_shown", True),
        "announce": bool(fields.get("announce")),
        "serial_lines": number("serial_lines", True),
        "voice_repeat": number("voice_repeat", True),
        "voice_busy_repeat": number("voice_busy_repeat", True),
        "voice_max_wait_s": number("voice_max_wait_s", False),
        # A select: blank keeps the device's own; "on" / "off" set it.
        "voice_chime": {"on": True, "off": False}.get(text("voice_chime")),
    }
    return out


def summary(settings: Mapping[str, Any]) -> str:
    """One line for the devices table: 区域屏 · market / 窗口屏 · 5 号窗口."""
    board = str(settings.get("board") or BoardKind.HALL)
    parts = [BOARD_LABELS.get(board, board)]
    if board == BoardKind.AREA and settings.get("area"):
        parts.append(f"区域 {settings['area']}")
    if board == BoardKind.WINDOW and settings.get("window") is not None:
        parts.append(f"{settings['window']} 号窗口")
    if settings.get("announce") is False:
        parts.append("不播报")
    elif settings.get("voice_repeat") is not None:
        parts.append(f"播报 {settings['voice_repeat']} 遍")
    return " · ".join(parts)
