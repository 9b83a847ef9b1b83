"""The simulated day: visitors come in two peaks, the real engine serves them,
every ticket ends, and the wait estimator's error is measured."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from central.queueing.models import FINAL_STATES, Ticket, TicketEvent
from central.queueing.simhall import load_hall
from central.queueing.simhub import SimHub
from central.queueing.simmodel import (
    ServiceProfile,
    Visit,
    auto_handling_scale,
    draw_handling_s,
    plan_day,
)
from central.queueing.simrun import DayReport, play_day
from tests.queueing.hall import Hall, make_hall

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 1)
PROFILES = (
    ServiceProfile("company_setup", "market", 1500, 4.0),
    ServiceProfile("id_card", "police", 480, 4.0),
    ServiceProfile("tax_invoice", "tax", 480, 2.0),
)


def _between(visits: list[Visit], start: str, end: str) -> int:
    a, b = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
    return sum(a <= v.arrive_at.astimezone(SHANGHAI).time() < b for v in visits)


def test_visitors_come_in_a_morning_and_an_afternoon_peak_and_never_at_lunch() -> None:
    visits, _ = plan_day(PROFILES, day=DAY, visitors=3000, seed=1, zone=SHANGHAI)
    assert len(visits) == 3000
    assert _between(visits, "09:00", "12:00") + _between(visits, "13:00", "17:00") == 3000
    morning_peak = _between(visits, "09:30", "10:30")
    afternoon_peak = _between(visits, "14:30", "15:30")
    assert morning_peak > 1.5 * _between(visits, "11:00", "12:00")
    assert afternoon_peak > 1.5 * _between(visits, "13:00", "14:00")
    assert afternoon_peak > 1.5 * _between(visits, "16:00", "17:00")


def test_the_same_seed_plays_the_same_day() -> None:
    a, _ = plan_day(PROFILES, day=DAY, visitors=200, seed=7, zone=SHANGHAI)
    b, _ = plan_day(PROFILES, day=DAY, visitors=200, seed=7, zone=SHANGHAI)
    c, _ = plan_day(PROFILES, day=DAY, visitors=200, seed=8, zone=SHANGHAI)
    assert a == b
    assert a != c


def test_handling_times_average_the_configured_time_times_the_scale() -> None:
    rng = random.Random(3)
    draws = [draw_handling_s(600, 0.5, rng) for _ in range(20000)]
    assert 270 < statistics.fmean(draws) < 320


def test_a_crowded_day_shortens_handling_times_to_keep_the_hall_serviceable() -> None:
    assert auto_handling_scale(PROFILES, 100) == 1.0
    assert auto_handling_scale(PROFILES, 3000) < 0.5


def test_a_day_has_some_green_channel_appointments_no_shows_and_transfers() -> None:
    visits, _ = plan_day(PROFILES, day=DAY, visitors=3000, seed=1, zone=SHANGHAI)
    priorities = Counter(v.priority.value for v in visits)
    assert 40 < priorities["green"] < 150
    assert 200 < priorities["appointment"] < 400
    assert 100 < sum(not v.shows_up for v in visits) < 220
    assert 40 < sum(v.transfer_to is not None for v in visits) < 150
    assert all(v.priority_reason for v in visits if v.priority.value == "green")


def _small_hall(hall: Hall) -> None:
    hall.service("company_setup", "A", "企业开办", avg_handling_s=1500)
    hall.service("id_card", "S", "居民身份证", avg_handling_s=480)
    hall.service("tax_invoice", "P", "发票申领代开", avg_handling_s=480)
    for n in range(1, 4):
        hall.window(n, {"company_setup": 2.0, "tax_invoice": 1.0})
        hall.clerk(f"market{n}", ["company_setup", "tax_invoice"])
    for n in range(4, 7):
        hall.window(n, {"id_card": 1.0})
        hall.clerk(f"police{n}", ["id_card"])


def test_every_window_gets_a_clerk_certified_for_its_services(hall: Hall) -> None:
    _small_hall(hall)
    with hall.sessions() as s:
        sim_hall = load_hall(s)
    assert [w.number for w in sim_hall.windows] == [1, 2, 3, 4, 5, 6]
    assert len({w.clerk_id for w in sim_hall.windows}) == 6
    assert all(w.service_ids for w in sim_hall.windows)
    assert sim_hall.unstaffed == ()


def _played(hall: Hall, **kw: Any) -> tuple[DayReport, str]:
    """Play through a real hub; also fetch the day's statistics as the manager downloads them."""
    with SimHub(hall.settings) as hub:
        client = hub.client()
        try:
            report = play_day(hall.settings, hub=hub, client=client, speed=0, **kw)
            day = kw["day"].isoformat()
            csv = client.get("/reports.csv", start=day, end=day)
            assert csv.status_code == 200, csv.text
            return report, csv.text
        finally:
            client.close()


def test_a_simulated_morning_through_the_hub_serves_people_and_feeds_boards_and_reports(
    hall: Hall,
) -> None:
    _small_hall(hall)
    report, csv = _played(hall, day=DAY, visitors=240, seed=5, until=dt.time(11, 0))

    # The morning so far: about a third of the day's visitors came (09:00–11:00
    # holds the morning peak), the windows served most of them.
    assert 60 < report.issued < 140
    assert report.states.get("done", 0) > 0.5 * report.issued
    assert report.states.get("waiting", 0) + report.states.get("serving", 0) < report.issued
    assert report.estimates > 0.5 * report.issued  # those called so far
    assert 0 <= report.estimator_mae_min < 30
    assert report.operations > 4 * report.states["done"]  # issue, call, start, finish each
    # The boards heard every window, the calls list and the services' queues.
    assert report.board_messages["calls"] > 0
    assert report.board_messages["window"] >= 6
    assert report.board_messages["queue"] >= 3
    assert report.retained_topics >= 6 + 1 + 3
    # The statistics page has the morning's tickets per service.
    assert "居民身份证" in csv
    assert "企业开办" in csv


def test_a_whole_simulated_day_ends_every_ticket_and_calls_none_twice(hall: Hall) -> None:
    _small_hall(hall)
    report, _ = _played(hall, day=DAY, visitors=150, seed=5)

    assert report.issued > 120
    assert report.states.get("done", 0) > 100
    assert report.states.get("no_show", 0) > 0
    assert 0 < report.estimator_mae_min < 30
    text = "\n".join(report.lines())
    assert "平均绝对误差" in text
    assert f"取号 {report.issued} 张" in text
    assert "大厅屏收到消息" in text
    with hall.sessions() as s:
        open_tickets = s.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.day == DAY, Ticket.state.not_in([f.value for f in FINAL_STATES]))
        )
        called_twice = s.scalar(
            select(func.count()).select_from(
                select(TicketEvent.ticket_id)
                .where(TicketEvent.verb == "call")
                .group_by(TicketEvent.ticket_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        first_issue = s.scalar(select(func.min(Ticket.issued_at)).where(Ticket.day == DAY))
    assert open_tickets == 0
    assert called_twice == 0
    assert first_issue is not None
    assert first_issue.astimezone(SHANGHAI).time() >= dt.time(9, 0)


def test_the_same_seed_plays_the_same_morning_through_the_hub(tmp_path: Path) -> None:
    played = []
    for name in ("a", "b"):
        with make_hall(f"sqlite:///{tmp_path / name}.sqlite3", tmp_path / name) as hall:
            _small_hall(hall)
            played.append(_played(hall, day=DAY, visitors=80, seed=3, until=dt.time(10, 30))[0])
    same = ("issued", "states", "mean_wait_min", "estimator_mae_min", "operations")
    a, b = played
    assert {k: getattr(a, k) for k in same} == {k: getattr(b, k) for k in same}
