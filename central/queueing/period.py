"""A range of hall days (dates in the hall's time zone) as report pages ask for them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# A year of tickets is about a million rows; longer ranges are refused rather
# than left to time out in the browser.
MAX_DAYS = 366


class BadPeriod(ValueError):
    """A date range people typed wrongly; the message is shown to them."""


def hall_zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        # A Pi image without tzdata: China has one offset and no daylight saving.
        return dt.timezone(dt.timedelta(hours=8), "CST") if name == "Asia/Shanghai" else dt.UTC


@dataclass(frozen=True)
class Period:
    """Days `start` to `end` inclusive, in `zone`."""

    start: dt.date
    end: dt.date
    zone: dt.tzinfo

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[first midnight, midnight after the last day) as aware UTC times."""
        lo = dt.datetime.combine(self.start, dt.time(), self.zone)
        hi = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), self.zone)
        return lo.astimezone(dt.UTC), hi.astimezone(dt.UTC)

    def utc_offset_minutes(self) -> int:
        offset = dt.datetime.combine(self.start, dt.time(12), self.zone).utcoffset()
        return int(offset.total_seconds() // 60) if offset else 0

    @property
    def label(self) -> str:
        if self.start == self.end:
            return f"{self.start:%Y-%m-%d}"
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"

    @classmethod
    def parse(
        cls, start: str | None, end: str | None, *, zone: dt.tzinfo, today: dt.date | None = None
    ) -> Period:
        """From a form's YYYY-MM-DD fields; empty fields mean today."""
        today = today or dt.datetime.now(zone).date()
        try:
            first = dt.date.fromisoformat(start) if start else today
            last = dt.date.fromisoformat(end) if end else (first if start else today)
        except ValueError:
            raise BadPeriod("日期格式应为 YYYY-MM-DD") from None
        if last < first:
            raise BadPeriod("结束日期不能早于开始日期")
        if (last - first).days >= MAX_DAYS:
            raise BadPeriod(f"统计范围最长 {MAX_DAYS} 天")
        return cls(first, last, zone)


def hall_period(start: str | None, end: str | None, *, timezone: str, now: dt.datetime) -> Period:
    """A report page's period in the hall's time zone; "today" by the hub's clock
    (`HubState.clock`), so a simulated day's reports default to that day."""
    zone = hall_zone(timezone)
    return Period.parse(start, end, zone=zone, today=now.astimezone(zone).date())
