"""The hall's clock: local time and the operating day.

The operating day is the local date in the hall's time zone
(``queue.timezone``, Asia/Shanghai), changing at ``queue.day_rollover``
(03:00 by default, so an evening session that runs past midnight stays on
its day).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from anxin.settings import QueueSettings


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(now: dt.datetime, settings: QueueSettings) -> dt.datetime:
    return now.astimezone(_zone(settings.timezone))


def operating_day(now: dt.datetime, settings: QueueSettings) -> dt.date:
    local = local_time(now, settings)
    if local.time() < settings.day_rollover:
        return local.date() - dt.timedelta(days=1)
    return local.date()


def at_local(day: dt.date, time: dt.time, settings: QueueSettings) -> dt.datetime:
    """A local wall-clock time on `day`, as an aware UTC datetime."""
    return dt.datetime.combine(day, time, _zone(settings.timezone)).astimezone(dt.UTC)


class HubClock:
    """The hub's "now": real time, unless a test or a simulation moves it.

    The HTTP API, the public and citizen pages and the hall-state publisher
    read it, so a simulated day or a test at "10:00 on a weekday" runs
    through the same code as the real hall. Moving it sets an offset: time
    goes on flowing from the moment set. Per hub process.
    """

    def __init__(self) -> None:
        self._offset = dt.timedelta(0)
        self._held: dt.datetime | None = None

    def now(self) -> dt.datetime:
        held = self._held
        return held if held is not None else dt.datetime.now(dt.UTC) + self._offset

    def set(self, at: dt.datetime) -> None:
        """From now on, time runs on from `at` (an aware datetime)."""
        self._offset = at - dt.datetime.now(dt.UTC)
        self._held = None

    def hold(self, at: dt.datetime) -> None:
        """Stop time at `at` until moved again: a simulation stepping from
        event to event (`anxin simulate day`) sees exactly its own times."""
        self._held = at
