"""Flow-aware routing against a real queue in a test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.contract import HallQueue
from central.guidance.routing import Route, candidates, recommend, route, window_ranges
from central.queueing.hallstate import queue_snapshots
from tests.guidance.library import FOOD, INDIVIDUAL, small_library
from tests.queueing.hall import Hall, make_hall


@pytest.fixture
def hall(database_url: str, tmp_path: Path) -> Iterator[Hall]:
    """个体登记 (C) at windows 13–14, 企业开办 (A) at window 1, 食品 (D) with no clerk."""
    with make_hall(database_url, tmp_path) as hall:
        hall.service("individual_business", "C", "个体工商户登记", avg_handling_s=600)
        hall.service("company_setup", "A", "企业开办", avg_handling_s=600)
        hall.service("food_license", "D", "食品经营许可", avg_handling_s=600)
        hall.window(13, {"individual_business": 1.0})
        hall.window(14, {"individual_business": 1.0})
        hall.window(1, {"company_setup": 1.0})
        hall.window(11, {"food_license": 1.0})
        hall.login(13, hall.clerk("li", ["individual_business"]))
        hall.login(14, hall.clerk("zhao", ["individual_business"]))
        hall.login(1, hall.clerk("wang", ["company_setup"]))
        yield hall


def _route(hall: Hall, *, alternatives: bool, matter_key: str = "individual_setup") -> Route:
    library = small_library(alternatives=alternatives)
    matter = next(m for m in library.matters if m.key == matter_key)
    return hall.db(lambda s: route(s, library, matter, day=hall.day, now=hall.now))


def _queues(hall: Hall) -> dict[str, HallQueue]:
    return {q.service: q for q in hall.db(lambda s: queue_snapshots(s, day=hall.day, now=hall.now))}


def test_the_queue_with_the_shorter_estimated_wait_is_recommended_with_its_figures(
    hall: Hall,
) -> None:
    for _ in range(8):
        hall.issue("individual_business")
    hall.issue("company_setup")
    queues = _queues(hall)
    c, a = queues["individual_business"], queues["company_setup"]
    assert a.estimated_wait_min is not None
    assert c.estimated_wait_min is not None
    assert a.estimated_wait_min < c.estimated_wait_min  # the hall as built: A is quicker

    found = _route(hall, alternatives=True)
    assert found.best is not None
    assert found.best.service == "company_setup"
    assert found.reason == (
        f"推荐 企业开办：前面 1 人，预计等候约 {a.estimated_wait_min} 分钟"
        f"（个体工商户登记约 {c.estimated_wait_min} 分钟），请留意 1 号窗口叫号。"
    )


def test_when_the_own_queue_is_quicker_it_stays_recommended(hall: Hall) -> None:
    for _ in range(5):
        hall.issue("company_setup")
    found = _route(hall, alternatives=True)
    assert found.best is not None
    assert found.best.service == "individual_business"
    assert found.reason.startswith("推荐 个体工商户登记：前面 0 人，基本无需等候")
    assert "请留意 13–14 号窗口叫号" in found.reason


def test_without_alternatives_the_matters_own_service_is_named_with_its_wait(hall: Hall) -> None:
    for _ in range(4):
        hall.issue("individual_business")
    c = _queues(hall)["individual_business"]
    found = _route(hall, alternatives=False)
    assert [o.service for o in found.options] == ["individual_business"]
    assert found.reason == (
        f"推荐 个体工商户登记：前面 4 人，预计等候约 {c.estimated_wait_min} 分钟，"
        "请留意 13–14 号窗口叫号。"
    )


def test_a_queue_without_an_open_window_is_named_but_said_plainly(hall: Hall) -> None:
    found = _route(hall, alternatives=False, matter_key="food_license")
    assert found.best is not None
    assert found.best.service == "food_license"
    assert found.reason == "食品经营许可目前暂无窗口办理，可先取号等候，或咨询导服人员。"


def test_a_matter_whose_service_the_hall_lacks_gets_no_ticket_button(hall: Hall) -> None:
    library = small_library()
    matter = next(m for m in library.matters if m.key == "fund_withdraw")
    found = hall.db(lambda s: route(s, library, matter, day=hall.day, now=hall.now))
    assert found.best is None
    assert "咨询台" in found.reason


def test_candidates_are_the_own_service_then_the_same_matter_elsewhere() -> None:
    assert candidates(small_library(alternatives=True), INDIVIDUAL) == [
        "individual_business",
        "company_setup",
    ]
    assert candidates(small_library(alternatives=True), FOOD) == ["food_license"]


def test_ties_go_to_fewer_people_then_to_the_matters_own_service() -> None:
    def q(code: str, waiting: int, minutes: int) -> HallQueue:
        return HallQueue(
            service=code, name=code, prefix="X", waiting=waiting, open_windows=1,
            estimated_wait_min=minutes,
        )  # fmt: skip

    assert recommend(["a", "b"], [q("a", 3, 10), q("b", 2, 10)]).best.service == "b"  # type: ignore[union-attr]
    assert recommend(["a", "b"], [q("a", 2, 10), q("b", 2, 10)]).best.service == "a"  # type: ignore[union-attr]


def test_window_numbers_are_shown_as_ranges() -> None:
    assert window_ranges([5, 1, 2, 3, 9, 10]) == "1–3、5、9–10"
    assert window_ranges([]) == ""
