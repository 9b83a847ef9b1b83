"""The admin pages of the queue: 大厅配置, 统计报表 and 公平性日志, as a hall manager uses them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import expect
from sqlalchemy import func, select

from central.auth.models import Role
from central.auth.service import create_user
from central.db import database_url as settings_url
from central.db import make_engine, make_sessionmaker, upgrade_database
from central.queueing.hallconfig import import_hall, load_yaml
from central.queueing.models import Service, ServiceArea, Window, WindowService
from tests.browser import ARTIFACTS, needs_chromium, signed_in_page
from tests.central.conftest import PASSWORD, Hub, hub_settings, running_hub, serving_hub
from tests.conftest import RunningBroker
from tests.queueing import test_audit, test_reports
from tests.queueing.test_hallconfig import SMALL, demo_text


@pytest.fixture
async def web(database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(database_url=database_url, tmp_path=tmp_path, broker=None) as h:
        yield h


async def upload(hub: Hub, text: str, *, replace: bool = True) -> httpx.Response:
    return await hub.client.post(
        "/hall/import",
        files={"file": ("hall.yaml", text.encode(), "application/yaml")},
        data={"replace": "true"} if replace else {},
    )


def count(hub: Hub, model: type[ServiceArea] | type[Window]) -> int:
    with hub.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


async def test_a_clerk_cannot_open_the_hall_pages(web: Hub) -> None:
    await web.sign_in(Role.CLERK)
    for path in ("/hall", "/reports", "/fairness", "/hall/export.yaml", "/reports.xlsx"):
        response = await web.client.get(path)
        assert response.status_code == 403, path


async def test_a_manager_uploads_a_hall_and_sees_it_listed(web: Hub) -> None:
    await web.sign_in(Role.MANAGER)
    response = await upload(web, SMALL)
    assert response.status_code == 200
    assert "导入完成：服务区新增 2" in response.text
    assert "zhangwei" in response.text  # the one-time password table
    page = await web.client.get("/hall")
    assert page.status_code == 200
    for shown in ("市场准入", "企业开办", "发票申领", "税务窗口", "张伟", "zhangwei", "×2"):
        assert shown in page.text


async def test_a_bad_upload_lists_each_problem_and_imports_nothing(web: Hub) -> None:
    await web.sign_in(Role.ADMIN)
    bad = SMALL.replace("area: tax, prefix: P", "area: taxes, prefix: A")
    response = await upload(web, bad)
    assert response.status_code == 422
    assert "发现 3 处问题，未导入任何内容" in response.text
    for path in ("services[0].prefix", "services[1].prefix", "services[1].area"):
        assert f'<td class="mono">{path}</td>' in response.text
    assert "服务区 taxes 不存在" in response.text
    assert count(web, ServiceArea) == 0
    broken = await upload(web, "areas: [unclosed")
    assert broken.status_code == 422
    assert "YAML 语法错误" in broken.text


async def test_the_yaml_download_is_the_hall_as_uploaded(web: Hub) -> None:
    await web.sign_in(Role.ADMIN)
    await upload(web, SMALL)
    response = await web.client.get("/hall/export.yaml")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith('attachment; filename="hall-')
    assert load_yaml(response.content) == load_yaml(SMALL)


async def test_editing_a_service_saves_hours_cap_and_times(web: Hub) -> None:
    await web.sign_in(Role.MANAGER)
    await upload(web, SMALL)
    form = {"opens": "08:30", "closes": "12:00", "daily_cap": "", "avg_minutes": "12.5",
            "notify_ahead": "4"}  # fmt: skip
    response = await web.client.post("/hall/services/company_setup", data=form)
    assert response.status_code == 303
    page = await web.client.get("/hall")
    assert "已保存服务 company_setup 的设置" in page.text
    with web.state.sessions() as s:
        svc = s.scalar(select(Service).where(Service.code == "company_setup"))
        assert svc is not None
        assert (f"{svc.opens_at:%H:%M}", f"{svc.closes_at:%H:%M}") == ("08:30", "12:00")
        assert (svc.daily_cap, svc.avg_handling_s, svc.notify_ahead) == (None, 750, 4)

    refused = {**form, "opens": "13:00", "daily_cap": "9999"}
    await web.client.post("/hall/services/company_setup", data=refused)
    page = await web.client.get("/hall")
    assert "未保存：营业时间开始时间必须早于结束时间" in page.text
    with web.state.sessions() as s:
        svc = s.scalar(select(Service).where(Service.code == "company_setup"))
        assert svc is not None
        assert f"{svc.opens_at:%H:%M}" == "08:30"


async def test_a_form_without_the_csrf_token_is_refused(web: Hub) -> None:
    await web.sign_in(Role.ADMIN)
    await upload(web, SMALL)
    del web.client.headers["X-CSRF-Token"]
    response = await web.client.post("/hall/windows/1", data={"w_tax_invoice": "3"})
    assert response.status_code == 403
    assert "页面已过期" in response.text


async def test_changing_a_windows_weights_changes_what_it_serves(web: Hub) -> None:
    await web.sign_in(Role.ADMIN)
    await upload(web, SMALL)
    response = await web.client.post(
        "/hall/windows/1", data={"w_company_setup": "", "w_tax_invoice": "3"}
    )
    assert response.status_code == 303
    with web.state.sessions() as s:
        rows = s.execute(
            select(Service.code, WindowService.weight)
            .join(Service, Service.id == WindowService.service_id)
            .join(Window, Window.id == WindowService.window_id)
            .where(Window.number == 1)
        ).all()
    assert [tuple(r) for r in rows] == [("tax_invoice", 3.0)]
    await web.client.post("/hall/windows/1", data={"w_tax_invoice": "0"})
    page = await web.client.get("/hall")
    assert "未保存：服务：窗口至少要办理一项服务" in page.text


async def test_reports_download_as_csv_and_excel(web: Hub) -> None:
    await web.sign_in(Role.MANAGER)
    with web.state.sessions() as s:
        test_reports.seed(s)
    csv_file = await web.client.get("/reports.csv?start=2026-03-02&end=2026-03-02")
    assert csv_file.status_code == 200
    assert "A 企业开办,6,0,2,1,17.5,30.0,20.0,30.0" in csv_file.content.decode("utf-8-sig")
    xlsx = await web.client.get("/reports.xlsx?start=2026-03-02&end=2026-03-02")
    path = Path(web.settings.data_dir) / "r.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(xlsx.content)
    assert load_workbook(path)["按服务"]["B3"].value == 6
    bad = await web.client.get("/reports?start=2026-03-05&end=2026-03-01")
    assert bad.status_code == 400
    assert "结束日期不能早于开始日期" in bad.text


# --- in a real browser ---------------------------------------------------------------


@pytest.fixture
async def hub_url(mosquitto: RunningBroker, tmp_path: Path) -> AsyncIterator[str]:
    settings = hub_settings(
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path=tmp_path,
        broker=mosquitto, port=0,
    )  # fmt: skip
    upgrade_database(settings)
    engine = make_engine(settings_url(settings))
    with make_sessionmaker(engine)() as session:
        test_reports.seed(session)
        # The demo hall on top: the page then looks like the customer's hall.
        assert import_hall(session, load_yaml(demo_text()), replace=False).ok
        test_audit.seed_entries(session)
        create_user(session, username="wangfang", role=Role.MANAGER, password=PASSWORD)
        session.commit()
    engine.dispose()
    async with serving_hub(settings) as url:
        yield url


@pytest.mark.browser
@needs_chromium
async def test_the_manager_pages_render_in_chromium(hub_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with signed_in_page(hub_url, "wangfang", PASSWORD) as page:
        await page.get_by_role("link", name="统计报表").click()
        await page.get_by_label("开始日期").fill("2026-03-02")
        await page.get_by_label("结束日期").fill("2026-03-02")
        await page.get_by_role("button", name="查询").click()
        await expect(page.get_by_role("heading", name="按服务")).to_be_visible()
        services = page.locator("section", has=page.get_by_role("heading", name="按服务"))
        await expect(services.locator("tbody tr").first).to_contain_text("A 企业开办")
        await expect(services.locator("tbody tr").first.locator("td").nth(1)).to_have_text("6")
        await page.screenshot(path=str(ARTIFACTS / "queue-reports.png"), full_page=True)

        await page.get_by_role("link", name="公平性日志").click()
        await page.get_by_label("开始日期").fill("2026-03-02")
        await page.get_by_label("结束日期").fill("2026-03-02")
        await page.get_by_role("button", name="查询").click()
        await page.get_by_role("button", name="校验哈希链").click()
        await expect(page.locator("#chain")).to_contain_text("哈希链完整")
        await expect(page.get_by_text("插队 3 次 · 合计 3")).to_have_count(2)
        await page.screenshot(path=str(ARTIFACTS / "queue-fairness.png"), full_page=True)

        await page.get_by_role("link", name="大厅配置").click()
        await expect(page.locator("#win-60")).to_contain_text("绿色通道")
        await page.locator("#svc-company_setup").get_by_label("企业开办每日上限").fill("250")
        await page.locator("#svc-company_setup").get_by_role("button", name="保存").click()
        await expect(page.get_by_role("status")).to_have_text("已保存服务 company_setup 的设置")
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(ARTIFACTS / "queue-hall.png"))
        await page.locator("#win-1 summary").click()
        await page.locator("#win-1").scroll_into_view_if_needed()
        await page.screenshot(path=str(ARTIFACTS / "queue-hall-window.png"))
