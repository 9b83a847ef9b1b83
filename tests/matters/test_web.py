"""The 事项库 pages and the published library as devices receive it."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path

from openpyxl import load_workbook

from broker.contract import HallMatters, decode
from broker.session import MqttSession
from central.auth.models import Role
from central.matters import excel, service
from central.matters.schema import Library
from tests.central.conftest import Hub
from tests.conftest import RunningBroker
from tests.matters.library import small_library


async def upload(hub: Hub, name: str, data: bytes, **form: str) -> tuple[int, str]:
    response = await hub.client.post(
        "/matters/_import", files={"file": (name, data, "application/octet-stream")}, data=form
    )
    return response.status_code, response.text


async def test_a_clerk_cannot_open_the_matter_library(web: Hub) -> None:
    await web.sign_in(Role.CLERK)
    for path in ("/matters", "/matters/_check", "/matters/_synonyms", "/matters/_export.xlsx"):
        assert (await web.client.get(path)).status_code == 403, path


async def test_an_upload_with_a_bad_row_lists_it_and_imports_nothing(web: Hub) -> None:
    await web.sign_in(Role.MANAGER)
    wb = load_workbook(io.BytesIO(excel.dump_xlsx(small_library())))
    wb["材料"]["C4"] = None  # 材料名称
    out = io.BytesIO()
    wb.save(out)
    code, text = await upload(web, "matters.xlsx", out.getvalue())
    assert code == 422
    assert "工作表“材料”第 4 行“材料名称”：不能为空" in text
    with web.state.sessions() as s:
        assert service.rows(s) == []
    code, text = await upload(web, "matters.xlsx", excel.dump_xlsx(small_library()))
    assert code == 200
    assert "新增事项 2 个" in text
    page = await web.client.get("/matters", params={"q": "暂住证"})
    assert "居住证办理" in page.text
    assert "食品经营许可证核发" not in page.text


async def test_editing_an_element_makes_a_version_whose_diff_shows_it(web: Hub) -> None:
    await web.sign_in(Role.ADMIN)
    await upload(web, "matters.json", excel.dump_json(small_library()))
    page = await web.client.get("/matters/food_license")
    assert page.status_code == 200
    assert "营业执照" in page.text
    form = {
        "name": "食品经营许可证核发", "matter_type": "01", "basic_code": "011234567000",
        "promised_amount": "30", "promised_unit": "工作日", "legal_amount": "20",
        "legal_unit": "工作日", "reason": "政策调整",
    }  # fmt: skip
    response = await web.client.post("/matters/food_license/elements", data=form)
    assert response.status_code == 303
    diff = await web.client.get("/matters/food_license/diff")
    assert "承诺办结时限" in diff.text
    assert "30 工作日" in diff.text
    assert "政策调整" in diff.text
    check = await web.client.get("/matters/_check")
    assert "承诺办结时限 30 工作日（约 42 个自然日）长于法定办结时限 20 工作日" in check.text


async def test_publishing_puts_the_manifest_on_the_retained_topic(
    mosquitto_hub: Hub, mosquitto: RunningBroker
) -> None:
    hub = mosquitto_hub
    await hub.sign_in(Role.MANAGER)
    code, _ = await upload(hub, "matters.json", excel.dump_json(small_library()))
    assert code == 200
    assert (await hub.client.post("/matters/_publish")).status_code == 303

    seen: dict[str, HallMatters] = {}
    arrived = asyncio.Event()
    topic = hub.topics.hall_matters()

    def on_message(t: str, raw: bytes, retained: bool) -> None:
        payload = decode(hub.topics, t, raw, retained=retained).payload
        assert isinstance(payload, HallMatters)
        seen[t] = payload
        arrived.set()

    kiosk = MqttSession(
        client_id="kiosk-late", address=mosquitto.address("kiosk-01"),
        subscriptions=[(topic, 1)], on_message=on_message,
    )  # fmt: skip
    await kiosk.start()  # connects after the publication: the manifest is retained
    try:
        await asyncio.wait_for(arrived.wait(), 5)
        arrived.clear()
        manifest = seen[topic]
        assert manifest.matters == 2
        assert manifest.url == "/api/v1/matters/library.json"

        response = await hub.client.get(manifest.url)
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == manifest.sha256
        assert Library.model_validate_json(response.content) == small_library()
        again = await hub.client.get(
            manifest.url, headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304

        # A new publication replaces the manifest at once.
        form = {"text": "开饭店 = 餐饮、食品经营\n办证 = 证照", "reason": "新增同义词"}
        assert (await hub.client.post("/matters/_synonyms", data=form)).status_code == 303
        await asyncio.wait_for(arrived.wait(), 5)
        assert seen[topic].revision > manifest.revision
        library = Library.model_validate_json((await hub.client.get(manifest.url)).content)
        assert library.synonyms["办证"] == ("证照",)
    finally:
        await kiosk.stop()


async def test_the_library_endpoint_is_empty_before_anything_is_published(
    web: Hub, tmp_path: Path
) -> None:
    response = await web.client.get("/api/v1/matters/library.json")
    assert response.status_code == 200
    assert Library.model_validate_json(response.content).matters == ()
