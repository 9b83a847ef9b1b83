"""The hall a simulation plays in: seeded from a YAML file when the database
has none, then read back as what the simulation needs (service profiles,
the services each window calls for, and a clerk for every window).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.queueing.hallconfig import ImportReport, import_hall, load_yaml
from central.queueing.models import (
    ClerkService,
    Service,
    ServiceArea,
    Window,
    WindowService,
)
from central.queueing.simmodel import ServiceProfile

log = logging.getLogger(__name__)

DEMO = "demo"


class HallMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class SimWindowSpec:
    number: int
    clerk_id: int
    service_ids: frozenset[int]  # served here and certified for by its clerk


@dataclass(frozen=True)
class SimHall:
    profiles: tuple[ServiceProfile, ...]
    service_ids: dict[str, int]
    service_codes: dict[int, str]
    windows: tuple[SimWindowSpec, ...]
    unstaffed: tuple[int, ...]  # windows no clerk is certified for

    def profile(self, service_id: int) -> ServiceProfile:
        code = self.service_codes[service_id]
        return next(p for p in self.profiles if p.code == code)


def demo_hall_yaml() -> bytes:
    return (resources.files("central.queueing") / "demo_hall.yaml").read_bytes()


def seed_hall(session: Session, hall: str) -> ImportReport | None:
    """Import the hall (``demo`` or a YAML path) when the database has no
    services yet; commit. None when there was a hall already."""
    if session.scalar(select(func.count()).select_from(Service)):
        return None
    session.rollback()  # no read snapshot held across the import's password hashing
    data = demo_hall_yaml() if hall == DEMO else Path(hall).read_bytes()
    report = import_hall(session, load_yaml(data), replace=False)
    if not report.ok:
        session.rollback()
        problems = "；".join(str(p) for p in report.problems)
        raise HallMissing(f"大厅配置导入失败：{problems}")
    session.commit()
    log.info("imported hall %s: %s", hall, report.summary())
    return report


def load_hall(session: Session) -> SimHall:
    services = list(session.scalars(select(Service).where(Service.active.is_(True))))
    if not services:
        raise HallMissing("数据库中没有大厅配置；请先导入（anxin hall import）或使用 --hall demo")
    areas = {a: c for a, c in session.execute(select(ServiceArea.id, ServiceArea.code))}
    active = {s.id for s in services}
    served: dict[int, dict[int, float]] = defaultdict(dict)
    numbers: dict[int, int] = {}
    for win_id, number, sid, weight in session.execute(
        select(Window.id, Window.number, WindowService.service_id, WindowService.weight)
        .join(WindowService, WindowService.window_id == Window.id)
        .where(Window.active.is_(True))
    ):
        if sid in active and weight > 0:
            served[win_id][sid] = float(weight)
            numbers[win_id] = number
    share: dict[int, float] = defaultdict(float)
    for weights in served.values():
        total = sum(weights.values())
        for sid, w in weights.items():
            share[sid] += w / total
    certs: dict[int, set[int]] = defaultdict(set)
    for uid, sid in session.execute(select(ClerkService.user_id, ClerkService.service_id)):
        certs[uid].add(sid)
    windows, unstaffed = _staff(served, numbers, certs)
    profiles = tuple(
        ServiceProfile(s.code, areas.get(s.area_id, ""), float(s.avg_handling_s), share[s.id])
        for s in sorted(services, key=lambda s: s.prefix)
        if share[s.id] > 0
    )
    return SimHall(
        profiles=profiles,
        service_ids={s.code: s.id for s in services},
        service_codes={s.id: s.code for s in services},
        windows=windows,
        unstaffed=unstaffed,
    )


def _staff(
    served: dict[int, dict[int, float]], numbers: dict[int, int], certs: dict[int, set[int]]
) -> tuple[tuple[SimWindowSpec, ...], tuple[int, ...]]:
    """Give each window the free clerk who covers most of its window time.

    Windows with the fewest candidate clerks choose first, so that a
    specialist window (公安户政) is not left without its only certified clerks.
    """
    free = set(certs)

    def cover(win_id: int, uid: int) -> float:
        return sum(w for sid, w in served[win_id].items() if sid in certs[uid])

    order = sorted(served, key=lambda w: (sum(cover(w, u) > 0 for u in free), numbers[w]))
    out: list[SimWindowSpec] = []
    unstaffed: list[int] = []
    for win_id in order:
        best = max(sorted(free), key=lambda u: cover(win_id, u), default=None)
        if best is None or cover(win_id, best) <= 0:
            unstaffed.append(numbers[win_id])
            continue
        free.discard(best)
        ids = frozenset(sid for sid in served[win_id] if sid in certs[best])
        out.append(SimWindowSpec(numbers[win_id], best, ids))
    return tuple(sorted(out, key=lambda w: w.number)), tuple(sorted(unstaffed))
