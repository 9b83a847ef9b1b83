"""Running simulations: one day with a summary (`anxin simulate day`), and the
endless slow day the demo shows (`anxin simulate live`), both through a real
hub (`simhub.SimHub`).

The summary reads the database after the day, so it counts what the engine
stored, not what the simulation meant to do, and what the boards received
(messages per hall topic kind, retained topics at the end).
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from broker.contract import utcnow
from central.db import database_url, make_engine, make_sessionmaker, upgrade_database
from central.queueing.clock import operating_day
from central.queueing.models import Ticket, TicketState
from central.queueing.simhall import load_hall, seed_hall
from central.queueing.simhub import HallClient, SimHub
from central.queueing.simmodel import plan_day
from central.queueing.simulate import DaySimulation, DayStats, ticket_states

log = logging.getLogger(__name__)


class DayTaken(RuntimeError):
    """The day already has tickets: a second simulated day on top would mix them."""


@dataclass(frozen=True)
class DayReport:
    day: dt.date
    visitors: int
    handling_scale: float
    windows: int
    issued: int
    refused: int
    states: dict[str, int]
    mean_wait_min: float
    p90_wait_min: float
    estimator_mae_min: float
    estimates: int
    operations: int
    wall_s: float
    speed: float
    board_messages: dict[str, int]  # hall topic kind (calls, window, queue) -> messages
    retained_topics: int  # hall topics holding a retained message at the end

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["day"] = self.day.isoformat()
        return out

    def lines(self) -> list[str]:
        s = self.states
        return [
            f"模拟日期 {self.day}：来访 {self.visitors} 人，开放窗口 {self.windows} 个"
            f"（办理时长为配置平均值的 {self.handling_scale:.2f} 倍）",
            f"取号 {self.issued} 张，拒绝取号 {self.refused} 次；"
            f"办结 {s.get(TicketState.DONE.value, 0)}，过号 {s.get(TicketState.NO_SHOW.value, 0)}，"
            f"转办 {s.get(TicketState.TRANSFERRED.value, 0)}，"
            f"日终失效 {s.get(TicketState.EXPIRED.value, 0)}",
            f"平均等候 {self.mean_wait_min:.1f} 分钟，90% 等候不超过 {self.p90_wait_min:.1f} 分钟",
            f"预计等候时间的平均绝对误差 {self.estimator_mae_min:.1f} 分钟"
            f"（{self.estimates} 张号票，取号时预计 vs 实际首次叫号）",
            f"共执行 {self.operations} 次操作（HTTP 请求），用时 {self.wall_s:.1f} 秒"
            f"（{self.operations / max(self.wall_s, 1e-9):.0f} 次/秒）",
            "大厅屏收到消息："
            + "，".join(f"{_BOARD_LABELS.get(k, k)} {n} 条" for k, n in self.board_messages.items())
            + f"；保留主题 {self.retained_topics} 个",
        ]


_BOARD_LABELS = {"calls": "叫号列表", "window": "窗口状态", "queue": "业务等候"}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def default_day(settings: Settings) -> dt.date:
    return operating_day(utcnow(), settings.queue)


def day_has_tickets(session: Session, day: dt.date) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Ticket).where(Ticket.day == day)))


def prepare(settings: Settings, hall: str) -> tuple[Engine, sessionmaker[Session]]:
    """A migrated database with a hall in it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        seed_hall(session, hall)
    return engine, sessions


def play_day(
    settings: Settings,
    *,
    hub: SimHub,
    client: HallClient,
    day: dt.date,
    visitors: int,
    speed: float,
    seed: int,
    handling_scale: float | None = None,
    progress: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    start_at: dt.datetime | None = None,
    until: dt.time | None = None,
) -> DayReport:
    sessions = hub.state.sessions
    with sessions() as session:
        hall = load_hall(session)
    if hall.unstaffed:
        log.warning("windows without a certified clerk stay closed: %s", hall.unstaffed)
    visits, scale = plan_day(
        hall.profiles, day=day, visitors=visitors, seed=seed,
        zone=ZoneInfo(settings.queue.timezone), handling_scale=handling_scale,
    )  # fmt: skip
    sim = DaySimulation(
        hub=hub, client=client, settings=settings, hall=hall, visits=visits, scale=scale, day=day,
        speed=speed, seed=seed, progress=progress, stop=stop, start_at=start_at, until=until,
    )  # fmt: skip
    stats = sim.run()
    hub.settle()
    with sessions() as session:
        states = ticket_states(session, day)
    return _report(sim, stats, states, hub, visitors=len(visits), speed=speed)


def _report(
    sim: DaySimulation,
    stats: DayStats,
    states: dict[str, int],
    hub: SimHub,
    *,
    visitors: int,
    speed: float,
) -> DayReport:
    waits = sim.waits_min
    return DayReport(
        day=sim.day,
        visitors=visitors,
        handling_scale=round(sim.scale, 3),
        windows=len(sim.windows),
        issued=stats.issued,
        refused=sum(stats.refused.values()),
        states=dict(sorted(states.items())),
        mean_wait_min=round(statistics.fmean(waits), 2) if waits else 0.0,
        p90_wait_min=round(_percentile(waits, 0.9), 2),
        estimator_mae_min=round(sim.meter.mean_absolute_error(), 2),
        estimates=sim.meter.count,
        operations=stats.operations,
        wall_s=round(stats.wall_s, 2),
        speed=speed,
        board_messages=hub.board.topics(hub.topics.root),
        retained_topics=len(hub.board.retained),
    )


def simulate_day(
    settings: Settings,
    *,
    hall: str,
    visitors: int,
    speed: float,
    day: dt.date | None,
    seed: int,
    handling_scale: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> DayReport:
    engine, sessions = prepare(settings, hall)
    try:
        chosen = day or default_day(settings)
        with sessions() as session:
            if day_has_tickets(session, chosen):
                raise DayTaken(f"{chosen} 已有号票数据；请用 --date 指定另一天")
    finally:
        engine.dispose()
    with SimHub(settings) as hub:
        client = hub.client()
        try:
            return play_day(
                settings, hub=hub, client=client, day=chosen, visitors=visitors, speed=speed,
                seed=seed, handling_scale=handling_scale, progress=progress,
            )  # fmt: skip
        finally:
            client.close()
