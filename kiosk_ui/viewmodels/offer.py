"""What the kiosk offers: service areas, their services (queues) with hours,
and the matter library, as small pure models.

`HallOffer` is fed by the kiosk's retained ``blocks`` message from the hub
(`HallOffer.from_kiosk_services`, the device UI: `kiosk_ui.device`) or, for the
simulator, by the hall YAML (`central/queueing/demo_hall.yaml`, read with `HallOffer.from_yaml`
so the kiosk needs neither SQLAlchemy nor the queue engine). `LibrarySource`
holds the matter library (事项库): from a file, or from the JSON the kiosk
fetched from the hub after the retained ``hall/matters`` manifest changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from broker.contract import KioskService
from central.matters.schema import Library, Matter

log = logging.getLogger(__name__)

_HOURS: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
WEEKDAYS: Final = frozenset(range(5))  # Monday..Friday
_DAY_NAMES: Final = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class ServiceStatus(StrEnum):
    OPEN = "open"
    NOT_YET = "not_yet"  # before today's hours
    ENDED = "ended"  # after today's hours
    NOT_TODAY = "not_today"  # not a working day for this service, or a closed date
    SUSPENDED = "suspended"  # switched off by the hall (今日暂停)


STATUS_TEXT: Final = {
    ServiceStatus.OPEN: "",
    ServiceStatus.NOT_YET: "未到取号时间",
    ServiceStatus.ENDED: "今日取号已结束",
    ServiceStatus.NOT_TODAY: "今日不办理",
    ServiceStatus.SUSPENDED: "今日暂停办理",
}


def parse_hours(value: str) -> tuple[dt.time, dt.time]:
    if not _HOURS.match(value):
        raise ValueError(f"营业时间格式应为 HH:MM-HH:MM: {value!r}")
    opens, closes = value.split("-")
    start, end = dt.time.fromisoformat(opens), dt.time.fromisoformat(closes)
    if start >= end:
        raise ValueError(f"开始时间必须早于结束时间: {value!r}")
    return start, end


def weekdays_text(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if not ordered:
        return "无"
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{_DAY_NAMES[ordered[0]]}至{_DAY_NAMES[ordered[-1]]}"
    return "、".join(_DAY_NAMES[d] for d in ordered)


@dataclass(frozen=True)
class ServiceOffer:
    code: str
    name: str
    area: str
    prefix: str = ""
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(17, 0)
    weekdays: frozenset[int] = WEEKDAYS
    suspended: bool = False

    @property
    def hours_text(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


@dataclass(frozen=True)
class AreaOffer:
    code: str
    name: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class HallOffer:
    """Areas → services, with hours, in the hall's time zone."""

    hall_name: str
    areas: tuple[AreaOffer, ...]
    services: Mapping[str, ServiceOffer]
    timezone: str = "Asia/Shanghai"
    closed_dates: frozenset[dt.date] = field(default_factory=frozenset)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, now: dt.datetime) -> dt.datetime:
        return now.astimezone(self.tz)

    def status(self, code: str, now: dt.datetime) -> ServiceStatus:
        service = self.services.get(code)
        if service is None or service.suspended:
            return ServiceStatus.SUSPENDED
        local = self.local(now)
        if local.date() in self.closed_dates or local.weekday() not in service.weekdays:
            return ServiceStatus.NOT_TODAY
        if local.time() < service.opens:
            return ServiceStatus.NOT_YET
        if local.time() >= service.closes:
            return ServiceStatus.ENDED
        return ServiceStatus.OPEN

    def is_open(self, now: dt.datetime) -> bool:
        """True while at least one service takes tickets."""
        return any(self.status(c, now) == ServiceStatus.OPEN for c in self.services)

    def hours_lines(self) -> list[str]:
        """The hall's hours in a line or two (办理时间：周一至周五 09:00-17:30)."""
        groups: dict[tuple[frozenset[int], dt.time, dt.time], int] = {}
        for s in self.services.values():
            if not s.suspended:
                key = (s.weekdays, s.opens, s.closes)
                groups[key] = groups.get(key, 0) + 1
        by_days: dict[frozenset[int], tuple[dt.time, dt.time]] = {}
        for days, opens, closes in groups:
            lo, hi = by_days.get(days, (opens, closes))
            by_days[days] = (min(lo, opens), max(hi, closes))
        return [
            f"{weekdays_text(days)} {opens:%H:%M}-{closes:%H:%M}"
            for days, (opens, closes) in sorted(by_days.items(), key=lambda i: sorted(i[0]))
        ]

    def next_opening(self, now: dt.datetime) -> str:
        """When tickets are next issued, e.g. “今天 09:00”, “明天 09:00”, “周一 09:00”."""
        local = self.local(now)
        for ahead in range(0, 15):
            day = local.date() + dt.timedelta(days=ahead)
            if day in self.closed_dates:
                continue
            opens = [
                s.opens
                for s in self.services.values()
                if not s.suspended
                and day.weekday() in s.weekdays
                and (ahead > 0 or local.time() < s.closes)
            ]
            if ahead == 0:
                opens = [max(o, local.time()) for o in opens]
                if opens and min(opens) <= local.time():
                    return "现在"
            if opens:
                first = min(opens)
                label = {0: "今天", 1: "明天"}.get(ahead, _DAY_NAMES[day.weekday()])
                if ahead > 6:
                    label = f"{day.month}月{day.day}日"
                return f"{label} {first:%H:%M}"
        return "另行通知"

    def always_open(self) -> HallOffer:
        """The same hall taking tickets around the clock, every day (demos)."""
        services = {
            code: replace(
                s, opens=dt.time(0, 0), closes=dt.time(23, 59), weekdays=frozenset(range(7))
            )
            for code, s in self.services.items()
        }
        return replace(self, services=services, closed_dates=frozenset())

    def service_of(self, matter: Matter) -> ServiceOffer | None:
        return self.services.get(matter.service)

    @classmethod
    def from_hall_dict(
        cls,
        data: Mapping[str, Any],
        *,
        hall_name: str,
        timezone: str = "Asia/Shanghai",
        weekdays: Iterable[int] = WEEKDAYS,
        closed_dates: Iterable[dt.date] = (),
        suspended: Iterable[str] = (),
    ) -> HallOffer:
        """From a hall document as a mapping (the YAML's ``areas`` and
        ``services``); areas without services are left out."""
        days = frozenset(weekdays)
        off = set(suspended)
        services: dict[str, ServiceOffer] = {}
        for raw in data.get("services") or ():
            opens, closes = parse_hours(str(raw.get("hours") or "09:00-17:00"))
            code = str(raw["code"])
            services[code] = ServiceOffer(
                code=code,
                name=str(raw["name"]),
                area=str(raw["area"]),
                prefix=str(raw.get("prefix") or ""),
                opens=opens,
                closes=closes,
                weekdays=days,
                suspended=code in off,
            )
        areas: list[AreaOffer] = []
        for raw in data.get("areas") or ():
            codes = tuple(c for c, s in services.items() if s.area == raw["code"])
            if codes:
                areas.append(AreaOffer(str(raw["code"]), str(raw["name"]), codes))
        return cls(hall_name, tuple(areas), services, timezone, frozenset(closed_dates))

    @classmethod
    def from_kiosk_services(
        cls, services: Iterable[KioskService], *, hall_name: str, timezone: str = "Asia/Shanghai"
    ) -> HallOffer:
        """From the services of a kiosk's retained ``blocks`` message (the hub's
        active services with their hours and areas, in the hall's order).

        Every day of the week: the hub, which issues the tickets, knows hours
        only, so the kiosk does not refuse a day the hub would serve. A service
        without an area (an older hub) goes under “全部业务”."""
        every_day = frozenset(range(7))
        offers: dict[str, ServiceOffer] = {}
        names: dict[str, str] = {}
        for s in services:
            area = s.area or "all"
            names.setdefault(area, s.area_name or s.area or "全部业务")
            offers[s.code] = ServiceOffer(
                code=s.code,
                name=s.name,
                area=area,
                prefix=s.prefix,
                opens=dt.time.fromisoformat(s.opens_at),
                closes=dt.time.fromisoformat(s.closes_at),
                weekdays=every_day,
            )
        areas = tuple(
            AreaOffer(code, name, tuple(c for c, o in offers.items() if o.area == code))
            for code, name in names.items()
        )
        return cls(hall_name, areas, offers, timezone)

    @classmethod
    def from_yaml(cls, path: str | Path, *, hall_name: str, **kwargs: Any) -> HallOffer:
        """From a hall YAML file (PyYAML is imported here only: the simulator's path)."""
        import yaml

        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_hall_dict(data, hall_name=hall_name, **kwargs)


class LibrarySource:
    """The matter library the kiosk uses, replaced when a newer one arrives.

    A JSON that does not validate is refused and the current library kept (a
    kiosk never loses its guidance to a bad download)."""

    def __init__(self, library: Library | None = None) -> None:
        self._library = library if library is not None else Library()
        self._sha = hashlib.sha256(self._library.model_dump_json().encode()).hexdigest()
        self.revision = 0
        self._listeners: list[Callable[[Library], None]] = []

    @property
    def library(self) -> Library:
        return self._library

    @property
    def sha256(self) -> str:
        return self._sha

    def subscribe(self, listener: Callable[[Library], None]) -> None:
        self._listeners.append(listener)

    def update_json(self, data: str | bytes) -> bool:
        """Take a fetched library JSON; True when it replaced the current one."""
        raw = data.encode() if isinstance(data, str) else data
        sha = hashlib.sha256(raw).hexdigest()
        if sha == self._sha:
            return False
        try:
            library = Library.model_validate_json(raw)
        except ValidationError as exc:
            log.warning("matter library refused: %s", exc.error_count())
            return False
        self._library, self._sha = library, sha
        self.revision += 1
        for listener in list(self._listeners):
            listener(library)
        return True

    @classmethod
    def from_file(cls, path: str | Path) -> LibrarySource:
        source = cls()
        source.update_json(Path(path).read_bytes())
        return source

    @classmethod
    def from_json(cls, data: str | bytes) -> LibrarySource:
        source = cls()
        source.update_json(data)
        return source
