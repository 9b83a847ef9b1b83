"""The public guidance pages over HTTP: search, questions, checklist, print."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from central.guidance.web import TICKET_ENDPOINT
from central.matters.schema import Library
from central.matters.service import import_library
from tests.central.conftest import Hub, running_hub
from tests.guidance.library import FOOD, small_library
from tests.queueing.hall import MORNING, Hall

HTMX = {"HX-Request": "true"}


def publish(hub: Hub, library: Library) -> None:
    with hub.state.sessions() as s:
        result = import_library(s, library, author="test", reason="test", publish=True)
        assert result.ok, result.problems
        s.commit()


def build_hall(hub: Hub) -> Hall:
    hall = Hall(hub.settings, hub.state.engine, hub.state.sessions, bus=hub.state.queue_bus)
    hall.service("individual_business", "C", "个体工商户登记", avg_handling_s=600)
    hall.window(13, {"individual_business": 1.0})
    hall.login(13, hall.clerk("li", ["individual_business"]))
    hub.state.clock.set(MORNING)  # within the service's hours whenever the test runs
    return hall


@pytest.fixture
async def web(database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(database_url=database_url, tmp_path=tmp_path, broker=None) as hub:
        await asyncio.to_thread(publish, hub, small_library())
        yield hub


def _links(html: str, cls: str) -> list[str]:
    return [m.replace("&amp;", "&") for m in re.findall(rf'class="{cls}" href="([^"]+)"', html)]


async def test_search_answers_plain_chinese_and_pinyin_without_sign_in(web: Hub) -> None:
    page = await web.client.get("/guide", params={"q": "开饭店要办什么证"})
    assert page.status_code == 200
    assert "食品经营许可证核发" in page.text
    assert "先办营业执照，再办食品经营许可证。" in page.text  # the FAQ answer
    assert '<input type="search"' in page.text

    fragment = await web.client.get("/guide", params={"q": "gtgsh"}, headers=HTMX)
    assert fragment.text.lstrip().startswith('<div id="g-results">')
    assert _links(fragment.text, "g-matter")[0] == "/guide/individual_setup"
    assert "<html" not in fragment.text


async def test_empty_search_lists_matters_and_faqs_and_nonsense_says_so(web: Hub) -> None:
    home = (await web.client.get("/guide")).text
    assert "常办事项" in home
    assert "大厅周末上班吗？几点开门" in home
    nothing = (await web.client.get("/guide", params={"q": "量子计算机"})).text
    assert "没有找到相关事项" in nothing


async def test_questions_one_at_a_time_then_the_checklist_with_route_and_actions(
    web: Hub,
) -> None:
    await asyncio.to_thread(build_hall, web)
    first = await web.client.get("/guide/individual_setup")
    assert "第 1 问" in first.text
    assert "是您本人来办吗？" in first.text
    assert "办事清单" not in first.text
    agent = next(u for u in _links(first.text, "g-option") if "who%3Aagent" in u)

    second = await web.client.get(agent, headers=HTMX)
    assert second.text.lstrip().startswith('<div id="guide-step"')
    assert "第 2 问" in second.text
    assert "不是，帮别人办" in second.text  # shown under 您的情况 with a 修改 link
    rent = next(u for u in _links(second.text, "g-option") if "place%3Arent" in u)

    third = (await web.client.get(rent)).text
    assert "租赁合同在住建部门备过案吗？" in third
    filed = next(u for u in _links(third, "g-option") if "filed%3Ano" in u)

    done = (await web.client.get(filed)).text
    assert "需要带的材料（5 项）" in done
    for text in (
        "授权委托书",
        "代理人身份证",
        "房屋租赁合同",
        "原件和复印件",
        "2 份",
        "必要",
        "窗口领取或网上下载",
        "租赁合同未备案的，可先容缺受理，5个工作日内补交",
        "3 个工作日内办结",
        "不收费",
        "推荐 个体工商户登记：前面 0 人，基本无需等候，请留意 13 号窗口叫号。",
        "取号（个体工商户登记）",
        "预约 · 暂未开放",
        "打印清单 / 扫码带走",
    ):
        assert text in done, text
    assert "房屋产权证明" not in done
    assert f'action="{TICKET_ENDPOINT}"' in done
    assert 'name="service" value="individual_business"' in done
    assert re.search(r'<button type="button" class="g-btn" disabled[^>]*>预约', done)


async def test_printable_checklist_carries_a_qr_code_of_its_own_address(web: Hub) -> None:
    url = "/guide/individual_setup/checklist?a=who%3Aself&a=place%3Aown"
    page = await web.client.get(url)
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "扫码带走本清单" in page.text
    assert "房屋产权证明" in page.text
    assert "不动产登记部门核发" in page.text
    # Not every question answered: back to the walk where it stopped.
    partial = await web.client.get("/guide/individual_setup/checklist?a=who%3Aself")
    assert partial.status_code == 303
    assert partial.headers["location"] == "/guide/individual_setup?a=who%3Aself"


async def test_unknown_matters_and_stale_answers_get_friendly_pages(web: Hub) -> None:
    missing = await web.client.get("/guide/no_such_matter")
    assert missing.status_code == 404
    assert "未找到该事项" in missing.text
    stale = await web.client.get("/guide/individual_setup?a=who%3Amaybe")
    assert stale.status_code == 200
    assert "您之前的选择已失效，请重新回答。" in stale.text
    assert "第 1 问" in stale.text


async def test_a_matter_the_hall_has_no_queue_for_offers_no_ticket_button(web: Hub) -> None:
    page = (await web.client.get("/guide/fund_withdraw")).text
    assert "该事项暂未关联大厅取号业务，请到咨询台咨询。" in page
    assert "g-take" not in page


async def test_a_new_publication_is_searched_at_once(web: Hub) -> None:
    assert "食品经营许可证核发" in (await web.client.get("/guide", params={"q": "小吃店"})).text
    renamed = FOOD.model_copy(update={"name": "小餐饮经营许可", "keywords": ("小吃店",)})
    await asyncio.to_thread(
        publish, web, small_library().model_copy(update={"matters": (renamed,)})
    )
    page = (await web.client.get("/guide", params={"q": "小吃店"})).text
    assert "小餐饮经营许可" in page


async def test_the_ticket_button_posts_to_the_public_issuing_endpoint(web: Hub) -> None:
    await asyncio.to_thread(build_hall, web)
    response = await web.client.post(
        TICKET_ENDPOINT, json={"service": "individual_business", "matter": "individual_setup"}
    )
    assert response.status_code in (200, 201), response.text
    assert response.json()["number"].startswith("C")
