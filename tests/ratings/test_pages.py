"""The window's rating screen and the 好差评 admin page over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from central.auth.models import Role
from central.ratings.models import Rating
from tests.central.conftest import Hub, running_hub
from tests.queueing.hall import Hall
from tests.workstation.support import MORNING, hall_of


@pytest.fixture
async def hub_hall(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Hub, Hall]]:
    async with running_hub(
        database_url=database_url, tmp_path=tmp_path, broker=None, clock_start=MORNING
    ) as hub:
        hall = await asyncio.to_thread(hall_of, hub)
        await asyncio.to_thread(hall.login, 1, hall.clerk("wangfang", ["general", "estate"]))
        yield hub, hall


def serve(hall: Hall, service: str = "general") -> int:
    hall.issue(service)
    called = hall.next(1).ticket
    assert called is not None
    hall.start(1)
    hall.finish(1)
    return called.id


async def rate(hub: Hub, ticket: int, level: int, *reasons: str) -> httpx.Response:
    form: dict[str, str | list[str]] = {"ticket": str(ticket), "level": str(level)}
    if reasons:
        form["reasons"] = list(reasons)
    return await hub.client.post("/rate/window/1", data=form)


def stored(hall: Hall) -> list[tuple[str, int, list[str], str]]:
    from sqlalchemy import select

    rows = hall.db(lambda s: list(s.scalars(select(Rating).order_by(Rating.id))))
    return [(r.ticket_number, r.level, r.reasons, r.channel) for r in rows]


async def test_the_screen_welcomes_then_asks_then_thanks(hub_hall: tuple[Hub, Hall]) -> None:
    hub, hall = hub_hall
    idle = await hub.client.get("/rate/window/1")
    assert idle.status_code == 200
    assert "欢迎" in idle.text
    assert "请您对本次服务进行评价" not in idle.text
    assert 'hx-trigger="every 3s"' in idle.text

    ticket = await asyncio.to_thread(serve, hall)
    asking = (await hub.client.get("/rate/window/1/pad")).text
    assert "请您对本次服务进行评价" in asking
    assert 'data-testid="rate-number">A001<' in asking
    for label in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert f"<span>{label}</span>" in asking

    thanks = await rate(hub, ticket, 5)
    assert "感谢您的评价！" in thanks.text
    assert "A001 号 · 您的评价：非常满意" in thanks.text
    again = await rate(hub, ticket, 1, "attitude")
    assert "该号码已评价，每个号码只能评价一次" in again.text
    assert "欢迎" in (await hub.client.get("/rate/window/1/pad")).text
    assert await asyncio.to_thread(stored, hall) == [("A001", 5, [], "window_pad")]


async def test_a_bad_rating_asks_for_reasons_and_keeps_asking_until_one_is_chosen(
    hub_hall: tuple[Hub, Hall],
) -> None:
    hub, hall = hub_hall
    ticket = await asyncio.to_thread(serve, hall)
    reasons = await hub.client.get(f"/rate/window/1/reasons?ticket={ticket}&level=2")
    assert "请选择不满意的原因" in reasons.text
    for label in ("服务态度差", "办事效率低", "多次跑动", "材料要求不清", "系统故障", "其他"):
        assert label in reasons.text

    none_chosen = await rate(hub, ticket, 2)
    assert "“不满意”请至少选择一项原因" in none_chosen.text
    assert "请选择不满意的原因" in none_chosen.text  # still on the reasons screen
    assert await asyncio.to_thread(stored, hall) == []

    done = await rate(hub, ticket, 2, "slow", "unclear_materials")
    assert "感谢您的评价！" in done.text
    assert await asyncio.to_thread(stored, hall) == [
        ("A001", 2, ["slow", "unclear_materials"], "window_pad")
    ]


async def test_the_screen_cannot_rate_another_ticket_or_from_another_site(
    hub_hall: tuple[Hub, Hall],
) -> None:
    hub, hall = hub_hall
    first = await asyncio.to_thread(serve, hall)
    await asyncio.to_thread(serve, hall)
    stale = await rate(hub, first, 5)
    assert "该评价页面已过期，请对最新办结的业务评价" in stale.text
    unknown = await hub.client.get("/rate/window/9")
    assert unknown.status_code == 404
    assert "没有 9 号窗口" in unknown.text
    forged = await hub.client.post(
        "/rate/window/1", data={"ticket": str(first + 1), "level": "1", "reasons": "other"},
        headers={"Origin": "http://evil.example"},
    )  # fmt: skip
    assert forged.status_code == 403
    assert await asyncio.to_thread(stored, hall) == []


async def test_managers_see_counts_per_window_clerk_and_service(
    hub_hall: tuple[Hub, Hall],
) -> None:
    hub, hall = hub_hall
    for level, reasons in ((5, ()), (4, ()), (1, ("attitude", "many_trips"))):
        ticket = await asyncio.to_thread(serve, hall)
        assert "感谢" in (await rate(hub, ticket, level, *reasons)).text
    await asyncio.to_thread(serve, hall)  # finished, not rated: not counted

    await hub.sign_in(Role.CLERK)
    assert (await hub.client.get("/ratings")).status_code == 403
    assert (await hub.client.get("/api/v1/ratings")).status_code == 403
    await hub.sign_in(Role.MANAGER)
    api = await hub.client.get("/api/v1/ratings", params={"start": "2026-12-01"})
    assert api.status_code == 200, api.text
    body = api.json()
    assert body["total"]["total"] == 3
    assert body["total"]["levels"] == {"5": 1, "4": 1, "3": 0, "2": 0, "1": 1}
    assert body["total"]["good_rate"] == pytest.approx(66.7)
    assert [t["label"] for t in body["by_window"]] == ["1 号窗口"]
    assert [t["label"] for t in body["by_clerk"]] == ["wangfang"]
    assert [t["label"] for t in body["by_service"]] == ["A 综合受理"]
    worst = body["ratings"][0]
    assert (worst["ticket_number"], worst["level_label"], worst["window"]) == (
        "A003",
        "非常不满意",
        1,
    )
    assert worst["reason_labels"] == ["服务态度差", "多次跑动"]
    assert worst["channel"] == "window_pad"
    other_day = await hub.client.get("/api/v1/ratings", params={"start": "2026-11-30"})
    assert other_day.json()["total"]["total"] == 0
    bad = await hub.client.get(
        "/api/v1/ratings", params={"start": "2026-12-02", "end": "2026-12-01"}
    )
    assert bad.status_code == 400
    assert bad.json()["detail"] == "结束日期不能早于开始日期"

    page = await hub.client.get("/ratings", params={"start": "2026-12-01"})
    assert page.status_code == 200
    assert 'data-testid="ratings-total">3<' in page.text
    for shown in ("按窗口", "按工作人员", "按业务", "服务态度差", "窗口评价屏", "66.7"):
        assert shown in page.text, shown
