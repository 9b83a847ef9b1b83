"""统计报表: tickets issued, served and missed, and how long people waited and were
served, per service, window, clerk and hour of day, for a range of hall days.

Definitions (the page repeats them, so figures can be checked by hand):

- A ticket belongs to the range when it was issued on one of its days (in the
  hall's time zone).
- issued (取号量) counts tickets people took; a transfer creates a ticket in
  the target queue, counted as transferred in (转入), not as issued.
- served (办结) counts tickets that ended ``done``; no-show (过号) ``no_show``.
- wait (等候) is issue → first call, measured on tickets people took (a
  transferred ticket keeps its original issue time, which would count the
  first service as waiting). Service time (办理) is serving → end.
- The 90th percentile is the nearest-rank one: the smallest observed value
  that at least 90 % of observations do not exceed. It is always a real
  ticket's figure, so a manager can look that ticket up.

Counts are grouped in SQL. Durations are read per ticket (narrow rows) and
summarised in Python, because a percentile needs every value anyway.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from central.auth.models import User
from central.queueing.models import Service, Ticket, TicketState, Window
from central.queueing.period import Period


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    issued: int | None  # None where it does not apply (windows, clerks)
    transferred_in: int | None
    served: int
    no_show: int
    wait_avg_s: float | None
    wait_p90_s: float | None
    service_avg_s: float | None
    service_p90_s: float | None


@dataclass(frozen=True)
class Section:
    name: str  # 按服务
    key_title: str  # 服务
    rows: list[Row]


@dataclass(frozen=True)
class HallReport:
    period: Period
    total: Row
    sections: list[Section]


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class _Acc:
    issued: int = 0
    transferred_in: int = 0
    served: int = 0
    no_show: int = 0
    waits: list[float] = field(default_factory=list)
    services: list[float] = field(default_factory=list)

    def row(self, key: str, label: str, *, per_ticket_source: bool) -> Row:
        return Row(
            key=key,
            label=label,
            issued=self.issued if per_ticket_source else None,
            transferred_in=self.transferred_in if per_ticket_source else None,
            served=self.served,
            no_show=self.no_show,
            wait_avg_s=_mean(self.waits),
            wait_p90_s=p90(self.waits),
            service_avg_s=_mean(self.services),
            service_p90_s=p90(self.services),
        )


Key = ColumnElement[Any] | InstrumentedAttribute[Any]


def _local_hour(session: Session, period: Period) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        zone = getattr(period.zone, "key", None)
        if zone:
            return cast(func.extract("hour", func.timezone(zone, Ticket.issued_at)), Integer)
    # SQLite has no zones; halls in China have one fixed offset (no DST since 1991).
    shift = f"{period.utc_offset_minutes():+d} minutes"
    return cast(func.strftime("%H", Ticket.issued_at, shift), Integer)


def hall_report(session: Session, *, period: Period) -> HallReport:
    lo, hi = period.utc_bounds()
    in_range = and_(Ticket.issued_at >= lo, Ticket.issued_at < hi)
    hour = _local_hour(session, period)
    dims: dict[str, Key] = {
        "service": Ticket.service_id,
        "window": Ticket.window_id,
        "clerk": Ticket.clerk_id,
        "hour": hour,
    }
    accs: dict[str, dict[Any, _Acc]] = {d: defaultdict(_Acc) for d in [*dims, "total"]}
    _count(session, in_range, dims, accs)
    _time(session, in_range, dims, accs)

    services = {s.id: s for s in session.scalars(select(Service))}
    windows = {w.id: w for w in session.scalars(select(Window))}
    clerk_ids = [k for k in accs["clerk"] if k is not None]
    clerks = {u.id: u for u in session.scalars(select(User).where(User.id.in_(clerk_ids)))}

    def rows(
        dim: str, sort: Callable[[Any], Any], key: Callable[[Any], str], label: Callable[[Any], str]
    ) -> list[Row]:
        per_ticket = dim in ("service", "hour")
        return [
            accs[dim][k].row(key(k), label(k), per_ticket_source=per_ticket)
            for k in sorted((k for k in accs[dim] if k is not None), key=sort)
        ]

    sections = [
        Section("按服务", "服务", rows(
            "service", lambda k: services[k].prefix, lambda k: services[k].code,
            lambda k: f"{services[k].prefix} {services[k].name}",
        )),
        Section("按窗口", "窗口", rows(
            "window", lambda k: windows[k].number, lambda k: str(windows[k].number),
            lambda k: f"{windows[k].number} 号窗口",
        )),
        Section("按人员", "窗口人员", rows(
            "clerk", lambda k: clerks[k].username, lambda k: clerks[k].username,
            lambda k: f"{clerks[k].display_name or clerks[k].username}（{clerks[k].username}）",
        )),
        Section("按时段", "取号时段", rows(
            "hour", int, lambda k: f"{int(k):02d}",
            lambda k: f"{int(k):02d}:00–{int(k) + 1:02d}:00",
        )),
    ]  # fmt: skip
    total = accs["total"][None].row("total", "全厅合计", per_ticket_source=True)
    return HallReport(period=period, total=total, sections=sections)


def _count(
    session: Session,
    in_range: ColumnElement[bool],
    dims: dict[str, Key],
    accs: dict[str, dict[Any, _Acc]],
) -> None:
    original = Ticket.transferred_from_id.is_(None)
    measures = (
        func.sum(case((original, 1), else_=0)),
        func.sum(case((original, 0), else_=1)),
        func.sum(case((Ticket.state == TicketState.DONE.value, 1), else_=0)),
        func.sum(case((Ticket.state == TicketState.NO_SHOW.value, 1), else_=0)),
    )
    groups: list[tuple[str, Key | None]] = [*dims.items(), ("total", None)]
    for dim, column in groups:
        if column is None:
            stmt = select(*measures).where(in_range)
            result: Iterable[Any] = ((None, *r) for r in session.execute(stmt))
        else:
            stmt = select(column, *measures).where(in_range).group_by(column)
            result = session.execute(stmt)
        for key, issued, moved, served, no_show in result:
            if issued is None:  # an empty range sums to NULL
                continue
            acc = accs[dim][key]
            acc.issued, acc.transferred_in = int(issued), int(moved)
            acc.served, acc.no_show = int(served), int(no_show)


def _time(
    session: Session,
    in_range: ColumnElement[bool],
    dims: dict[str, Key],
    accs: dict[str, dict[Any, _Acc]],
) -> None:
    stmt = select(
        *dims.values(),
        Ticket.transferred_from_id.is_(None),
        Ticket.issued_at,
        Ticket.called_at,
        Ticket.serving_at,
        Ticket.ended_at,
    ).where(
        in_range,
        or_(
            Ticket.called_at.is_not(None),
            and_(Ticket.serving_at.is_not(None), Ticket.ended_at.is_not(None)),
        ),
    )
    names = [*dims, "total"]
    for row in session.execute(stmt):
        keys = [*row[: len(dims)], None]
        original, issued_at, called_at, serving_at, ended_at = row[len(dims) :]
        wait = (called_at - issued_at).total_seconds() if original and called_at else None
        served = (
            (ended_at - serving_at).total_seconds() if serving_at is not None and ended_at else None
        )
        for dim, key in zip(names, keys, strict=True):
            acc = accs[dim][key]
            if wait is not None:
                acc.waits.append(wait)
            if served is not None:
                acc.services.append(served)
