"""The hall configuration document: what an admin writes in YAML and the web edits.

A `HallDoc` is checked in two steps. Pydantic checks each field on its own
(types, ranges, formats); `check_doc` then checks the document as a whole
(unique codes, prefixes and window numbers; references to areas and services
that exist). Both report every problem with its path in the document, e.g.
``windows[12].services.tax``, so an admin can fix a file in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from central.queueing.models import WindowKind

HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
# Ticket numbers are stored as prefix + zero-padded number in 8 characters.
MAX_NUMBER = 9999

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AreaDoc(_Doc):
    code: Code = Field(description="stable identifier, lower-case letters, digits and _")
    name: str = Field(min_length=1, max_length=64, description="name shown in the hall (市场准入)")
    silent_calling: bool = Field(
        False, description="无声叫号: boards show calls without voice; citizens get an SMS instead"
    )


class ServiceDoc(_Doc):
    code: Code = Field(description="stable identifier used by windows and clerks")
    name: str = Field(min_length=1, max_length=64, description="name on kiosks and boards")
    area: Code = Field(description="code of the service area the service belongs to")
    prefix: str = Field(
        pattern=r"^[A-Z]$", description="ticket prefix letter, unique in the hall (A001)"
    )
    numbers: tuple[int, int] = Field(
        (1, 999), description="first and last ticket number of a day, e.g. [1, 999]"
    )
    # One string, not two YAML scalars: YAML 1.1 reads 8:30 as the integer 510.
    hours: str = Field(
        "09:00-17:00", description="opening hours, HH:MM-HH:MM in the hall's time zone"
    )
    daily_cap: int | None = Field(
        None, ge=1, description="most tickets issued per day; empty for no cap"
    )
    avg_minutes: float = Field(
        10.0, gt=0, le=480, description="average handling time in minutes, seeds the estimator"
    )
    notify_ahead: int = Field(
        3, ge=0, le=50, description="send an SMS when this many people or fewer are ahead"
    )

    @field_validator("hours")
    @classmethod
    def _hours_in_order(cls, value: str) -> str:
        if not HOURS_RE.match(value):
            raise ValueError("营业时间格式应为 HH:MM-HH:MM，例如 09:00-17:00")
        opens, closes = parse_hours(value)
        if opens >= closes:
            raise ValueError("开始时间必须早于结束时间")
        return value

    @field_validator("numbers")
    @classmethod
    def _numbers_in_range(cls, value: tuple[int, int]) -> tuple[int, int]:
        first, last = value
        if not 1 <= first <= last <= MAX_NUMBER:
            raise ValueError(f"号段必须满足 1 ≤ 起始号 ≤ 结束号 ≤ {MAX_NUMBER}")
        return value

    @property
    def avg_handling_s(self) -> int:
        return round(self.avg_minutes * 60)


class WindowDoc(_Doc):
    number: int = Field(ge=1, le=999, description="window number shown on boards (8 号窗口)")
    name: str = Field(min_length=1, max_length=64, description="name of the window")
    area: Code = Field(description="code of the area the window stands in")
    kind: WindowKind = Field(
        WindowKind.COMPREHENSIVE,
        description="comprehensive (综合), dedicated (专窗), green (绿色通道), helper (帮办代办)",
    )
    services: dict[Code, Annotated[float, Field(gt=0, le=100)]] = Field(
        min_length=1, description="service code -> weight in the call-next rule"
    )


class ClerkDoc(_Doc):
    username: str = Field(
        pattern=r"^[a-z][a-z0-9_.-]{1,63}$", description="login name, pinyin (zhangwei)"
    )
    name: str = Field(min_length=1, max_length=32, description="real name shown on reports")
    services: list[Code] = Field(
        default_factory=list, description="codes of the services the clerk is certified for"
    )


class HallDoc(_Doc):
    """A whole hall: areas, services, windows and clerks."""

    version: int = Field(1, ge=1, le=1, description="document format version")
    areas: list[AreaDoc] = Field(default_factory=list, description="service areas (服务区)")
    services: list[ServiceDoc] = Field(default_factory=list, description="queues (事项)")
    windows: list[WindowDoc] = Field(default_factory=list, description="windows (窗口)")
    clerks: list[ClerkDoc] = Field(default_factory=list, description="window staff (窗口人员)")


def parse_hours(value: str) -> tuple[dt.time, dt.time]:
    opens, closes = value.split("-")
    return dt.time.fromisoformat(opens), dt.time.fromisoformat(closes)


def format_hours(opens: dt.time, closes: dt.time) -> str:
    return f"{opens:%H:%M}-{closes:%H:%M}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, where it is and why (in Chinese)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class HallDocInvalid(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _loc_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "(文档)"


_PYDANTIC_MESSAGES = {
    "missing": "缺少此项",
    "extra_forbidden": "不认识的字段",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "too_short": "不能为空",
    "string_too_short": "不能为空",
    "dict_type": "应为键值映射",
    "list_type": "应为列表",
    "string_type": "应为文字",
    "string_too_long": "太长",
}


_BOUNDS = {"gt": "大于", "ge": "不小于", "lt": "小于", "le": "不大于"}


def validate_doc(data: Any) -> HallDoc:
    """Parse and check a self-contained document; `HallDocInvalid` with every problem."""
    doc = parse_doc(data)
    problems = check_doc(doc)
    if problems:
        raise HallDocInvalid(problems)
    return doc


def parse_doc(data: Any) -> HallDoc:
    """Field-by-field checks only; references are checked by `check_doc`."""
    try:
        doc = HallDoc.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            message = _PYDANTIC_MESSAGES.get(err["type"], message)
            if err["type"] == "enum":
                message = f"取值应为 {err.get('ctx', {}).get('expected', '')}"
            for key, words in _BOUNDS.items():
                if key in err.get("ctx", {}):
                    message = f"应{words} {err['ctx'][key]}"
            problems.append(Problem(_loc_path(tuple(err["loc"])), message))
        raise HallDocInvalid(problems) from None
    return doc


def _duplicates(values: list[Any]) -> set[Any]:
    return {v for v, n in Counter(values).items() if n > 1}


def check_doc(
    doc: HallDoc,
    *,
    known_areas: Collection[str] = (),
    known_services: Collection[str] = (),
) -> list[Problem]:
    """Whole-document rules pydantic cannot see field by field.

    `known_*` are codes already in the database that a partial document (merged
    into the hall rather than replacing it) may refer to.
    """
    problems: list[Problem] = []
    area_codes = [a.code for a in doc.areas]
    for i, area in enumerate(doc.areas):
        if area.code in _duplicates(area_codes):
            problems.append(Problem(f"areas[{i}].code", f"服务区代码 {area.code} 重复"))
    areas = set(area_codes) | set(known_areas)
    service_codes = [s.code for s in doc.services]
    prefixes = [s.prefix for s in doc.services]
    for i, svc in enumerate(doc.services):
        if svc.code in _duplicates(service_codes):
            problems.append(Problem(f"services[{i}].code", f"服务代码 {svc.code} 重复"))
        if svc.prefix in _duplicates(prefixes):
            problems.append(
                Problem(f"services[{i}].prefix", f"号码字母 {svc.prefix} 已被其他服务使用")
            )
        if svc.area not in areas:
            problems.append(Problem(f"services[{i}].area", f"服务区 {svc.area} 不存在"))
        size = svc.numbers[1] - svc.numbers[0] + 1
        if svc.daily_cap is not None and svc.daily_cap > size:
            problems.append(
                Problem(f"services[{i}].daily_cap", f"每日上限 {svc.daily_cap} 超过号段容量 {size}")
            )
    services = set(service_codes) | set(known_services)
    numbers = [w.number for w in doc.windows]
    for i, win in enumerate(doc.windows):
        if win.number in _duplicates(numbers):
            problems.append(Problem(f"windows[{i}].number", f"窗口号 {win.number} 重复"))
        if win.area not in areas:
            problems.append(Problem(f"windows[{i}].area", f"服务区 {win.area} 不存在"))
        for code in win.services:
            if code not in services:
                problems.append(Problem(f"windows[{i}].services.{code}", f"服务 {code} 不存在"))
    usernames = [c.username for c in doc.clerks]
    for i, clerk in enumerate(doc.clerks):
        if clerk.username in _duplicates(usernames):
            problems.append(Problem(f"clerks[{i}].username", f"用户名 {clerk.username} 重复"))
        for j, code in enumerate(clerk.services):
            if code not in services:
                problems.append(Problem(f"clerks[{i}].services[{j}]", f"服务 {code} 不存在"))
    return problems


# --- YAML ------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML silently keeps the last)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"重复的键 {key!r}", key_node.start_mark
            )
        seen.add(key)
    return dict(loader.construct_mapping(node))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(text: str | bytes) -> HallDoc:
    """Parse YAML text into a document checked field by field (`HallDocInvalid`)."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else "(文件)"
        what = getattr(exc, "problem", None) or str(exc)
        raise HallDocInvalid([Problem(where, f"YAML 语法错误：{what}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise HallDocInvalid([Problem("(文档)", "顶层应为键值映射")])
    return parse_doc(data)


class _Dumper(yaml.SafeDumper):
    pass


def _flow_services(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items, flow_style=True)


@dataclass(frozen=True)
class _Flow:
    """A mapping written on one line: a window's services read best as {a: 2, b: 1}."""

    items: dict[str, Any]


_Dumper.add_representer(_Flow, _flow_services)


def dump_yaml(doc: HallDoc) -> str:
    data = doc.model_dump(mode="json")
    for svc in data["services"]:
        svc["numbers"] = _FlowList(svc["numbers"])
    for win in data["windows"]:
        win["services"] = _Flow(win["services"])
    for clerk in data["clerks"]:
        clerk["services"] = _FlowList(clerk["services"])
    header = "# 大厅配置（安心政务服务大厅）。用 `anxin hall import` 导入。\n"
    return header + yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


class _FlowList(list[Any]):
    pass


def _flow_list(dumper: yaml.SafeDumper, data: _FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=True)


_Dumper.add_representer(_FlowList, _flow_list)
