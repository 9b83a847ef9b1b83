"""手语翻译统计 and 人员测算 as a hall manager sees them."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import select

from central.auth.models import Role, User
from central.interpreting.models import InterpOffer, InterpRequest
from tests.central.conftest import Hub

T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Xi'an


async def seed(web: Hub) -> None:
    await web.add_user("li", Role.INTERPRETER)

    def write() -> None:
        with web.state.sessions() as s:
            li = s.scalars(select(User).where(User.username == "li")).one()
            for n, (wait, talk) in enumerate([(10, 300), (50, 600), (200, 900)]):
                at = T0 + dt.timedelta(minutes=30 * n)
                s.add(InterpRequest(
                    id=f"r{n}", terminal="sign-01", language="csl", consent_recording=False,
                    priority=0, state="ended", requested_at=at, interpreter_id=li.id,
                    answered_at=at + dt.timedelta(seconds=wait),
                    ended_at=at + dt.timedelta(seconds=wait + talk), outcome="served",
                ))  # fmt: skip
                s.flush()  # the request before its offer (foreign key)
                s.add(InterpOffer(request_id=f"r{n}", interpreter_id=li.id, offered_at=at,
                                  result="accepted"))  # fmt: skip
            s.add(InterpRequest(
                id="r9", terminal="sign-02", language="csl", consent_recording=False, priority=0,
                state="abandoned", requested_at=T0, abandoned_at=T0 + dt.timedelta(seconds=40),
            ))  # fmt: skip
            s.commit()

    await asyncio.to_thread(write)


async def test_the_stats_page_and_files_show_the_same_figures(web: Hub) -> None:
    await seed(web)
    await web.sign_in(Role.MANAGER)
    page = await web.client.get("/interpreting/stats?start=2026-03-02&end=2026-03-02")
    assert page.status_code == 200
    text = page.text
    assert 'data-testid="total-requests">4<' in text
    assert 'data-testid="total-answered">3<' in text
    # ASA (10+50+200)/3 = 86.7 s, AHT 600 s, abandoned 1 of 4 = 25 %,
    # within 30 s 1 of 4 = 25 %, within 120 s 2 of 4 = 50 %.
    body = (await web.client.get("/interpreting/stats.csv?start=2026-03-02")).content
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    total = next(r for r in rows if r[0] == "全部")
    assert total[2:13] == ["4", "3", "1", "0", "86.7", "600.0", "25.0", "25.0", "50.0", "3", "0"]
    li = next(r for r in rows if r[0] == "按翻译员")
    assert li[1] == "li"
    assert li[3] == "3"
    assert li[9] == "33.3"
    book = load_workbook(io.BytesIO(
        (await web.client.get("/interpreting/stats.xlsx?start=2026-03-02")).content
    ))  # fmt: skip
    sheet = book.active
    assert sheet is not None
    assert [c.value for c in sheet[3]][:4] == ["全部", "合计", 4, 3]
    bad = await web.client.get("/interpreting/stats?start=2026-03-05&end=2026-03-01")
    assert bad.status_code == 400
    assert "结束日期不能早于开始日期" in bad.text


async def test_staffing_page_names_the_interpreters_needed(web: Hub) -> None:
    await web.sign_in(Role.MANAGER)
    page = await web.client.get(
        "/interpreting/staffing?calls_per_hour=12&aht_s=600&target=85&within_s=30"
    )
    assert page.status_code == 200
    assert "需要 <strong>5</strong> 名翻译员" in page.text
    bad = await web.client.get("/interpreting/staffing?calls_per_hour=abc")
    assert bad.status_code == 400
    assert "请填写数字" in bad.text


async def test_a_clerk_cannot_see_the_stats(web: Hub) -> None:
    await web.sign_in(Role.CLERK)
    assert (await web.client.get("/api/v1/interpreting/console/state")).status_code == 403
    assert (await web.client.get("/interpreting/stats.csv")).status_code == 403
