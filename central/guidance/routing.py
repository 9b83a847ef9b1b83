"""Flow-aware routing: which queue to take a ticket for, and why.

A ticket is taken for a *service* (a queue) and called at any open window
serving it, so the choice a citizen can make is between services. The
candidates for a matter are:

1. the matter's own ``service``;
2. the services of other matters of the library that are the same matter
   offered at another queue: same non-empty ``basic_code`` (基本编码) or the
   same name. A hall that lets, say, 个体工商户设立 be taken at both the
   个体登记 queue and the 市场准入综合 queue lists it twice in the library,
   once per service.

Nothing else is guessed (no area-wide “any window” fallback): a matter
handled at a queue that does not take it is a wasted trip.

The live figures are `central.queueing.hallstate.queue_snapshots` (the same
`HallQueue` the hall boards and kiosks receive on ``hall/queue/{code}``), so
the pure `recommend` works on a kiosk from its retained topics too. Among the
candidates with an open window, the shortest estimated wait wins, then fewer
people waiting, then the matter's own service. When no candidate has an open
window, the matter's own service is still named, with that said plainly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from broker.contract import HallQueue
from central.matters.schema import Library, Matter
from central.queueing.hallstate import queue_snapshots
from central.queueing.models import Service, Window, WindowService, WindowState, WindowStatus


@dataclass(frozen=True)
class RouteOption:
    service: str
    name: str
    prefix: str
    waiting: int
    open_windows: int
    minutes: int | None  # None: no open window serves it now
    windows: tuple[int, ...] = ()  # numbers of the open windows serving it

    @property
    def open(self) -> bool:
        return self.minutes is not None and self.open_windows > 0


@dataclass(frozen=True)
class Route:
    best: RouteOption | None  # None: the matter names no service the hall has
    options: tuple[RouteOption, ...]
    reason: str


def candidates(library: Library, matter: Matter) -> list[str]:
    """Service codes that take `matter`, its own service first."""
    out = [matter.service] if matter.service else []
    for other in library.matters:
        if other.key == matter.key or not other.service or other.service in out:
            continue
        same_code = bool(matter.basic_code) and other.basic_code == matter.basic_code
        if same_code or other.name == matter.name:
            out.append(other.service)
    return out


def window_ranges(numbers: Iterable[int]) -> str:
    """1, 2, 3, 5 → “1–3、5”."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}–{ordered[j]}")
        i = j + 1
    return "、".join(parts)


def _wait_text(option: RouteOption) -> str:
    if option.minutes is None:
        return "暂无窗口办理"
    if option.minutes < 1:
        return "基本无需等候"
    return f"约 {option.minutes} 分钟"


def recommend(
    codes: Sequence[str],
    queues: Iterable[HallQueue],
    windows: Mapping[str, Sequence[int]] | None = None,
) -> Route:
    """Pick among the candidate services from their live queue figures."""
    by_code = {q.service: q for q in queues}
    windows = windows or {}
    options = tuple(
        RouteOption(
            service=code,
            name=q.name,
            prefix=q.prefix,
            waiting=q.waiting,
            open_windows=q.open_windows,
            minutes=q.estimated_wait_min if q.open_windows > 0 else None,
            windows=tuple(sorted(windows.get(code, ()))),
        )
        for code in dict.fromkeys(codes)
        if (q := by_code.get(code)) is not None
    )
    if not options:
        return Route(None, (), "该事项暂未关联大厅取号业务，请到咨询台咨询。")
    open_ = [o for o in options if o.open]
    if not open_:
        best = options[0]
        return Route(best, options, f"{best.name}目前暂无窗口办理，可先取号等候，或咨询导服人员。")
    order = {o.service: i for i, o in enumerate(options)}
    best = min(open_, key=lambda o: (o.minutes or 0, o.waiting, order[o.service]))
    head = f"推荐 {best.name}：前面 {best.waiting} 人，预计等候{_wait_text(best)}"
    if best.minutes is not None and best.minutes < 1:
        head = f"推荐 {best.name}：前面 {best.waiting} 人，{_wait_text(best)}"
    others = [o for o in options if o is not best]
    if others:
        head += "（" + "；".join(f"{o.name}{_wait_text(o)}" for o in others) + "）"
    if best.windows:
        head += f"，请留意 {window_ranges(best.windows)} 号窗口叫号"
    return Route(best, options, head + "。")


def open_windows(session: Session, codes: Sequence[str]) -> dict[str, list[int]]:
    """Numbers of the open windows serving each of `codes`."""
    rows = session.execute(
        select(Service.code, Window.number)
        .join(WindowService, WindowService.service_id == Service.id)
        .join(Window, Window.id == WindowService.window_id)
        .join(WindowState, WindowState.window_id == Window.id)
        .where(
            Service.code.in_(list(codes)),
            Window.active.is_(True),
            WindowService.weight > 0,
            WindowState.status == WindowStatus.OPEN.value,
        )
    )
    out: dict[str, list[int]] = {}
    for code, number in rows:
        out.setdefault(code, []).append(number)
    return out


def route(
    session: Session, library: Library, matter: Matter, *, day: dt.date, now: dt.datetime
) -> Route:
    """The recommendation for `matter` from the database's live queue."""
    codes = candidates(library, matter)
    if not codes:
        return recommend((), ())
    queues = [q for q in queue_snapshots(session, day=day, now=now) if q.service in codes]
    return recommend(codes, queues, open_windows(session, codes))
