"""Hall configuration as YAML: what an admin sees when importing and exporting a hall."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from anxin.cli import app
from central.auth.models import Role, User
from central.auth.service import authenticate
from central.queueing.hallconfig import (
    HallDoc,
    HallDocInvalid,
    dump_yaml,
    export_hall,
    import_hall,
    load_yaml,
    validate_doc,
)
from central.queueing.models import (
    ClerkService,
    Service,
    ServiceArea,
    Ticket,
    TicketState,
    Window,
    WindowKind,
)
from tests.queueing.halldb import migrated_session

SMALL = """
areas:
  - {code: market, name: 市场准入}
  - {code: tax, name: 税务}
services:
  - {code: company_setup, name: 企业开办, area: market, prefix: A, numbers: [1, 500],
     hours: 09:00-17:00, daily_cap: 300, avg_minutes: 25, notify_ahead: 5}
  - {code: tax_invoice, name: 发票申领, area: tax, prefix: P, hours: 09:00-17:30, avg_minutes: 8}
windows:
  - {number: 1, name: 综合窗口, area: market, services: {company_setup: 2, tax_invoice: 1}}
  - {number: 2, name: 税务窗口, area: tax, kind: dedicated, services: {tax_invoice: 1}}
clerks:
  - {username: zhangwei, name: 张伟, services: [company_setup, tax_invoice]}
"""


def demo_text() -> str:
    return (resources.files("central.queueing") / "demo_hall.yaml").read_text(encoding="utf-8")


def _sorted(doc: HallDoc) -> HallDoc:
    """The same hall whatever order clerks and their services were listed in."""
    clerks = sorted(
        (c.model_copy(update={"services": sorted(c.services)}) for c in doc.clerks),
        key=lambda c: c.username,
    )
    return doc.model_copy(update={"clerks": clerks})


def test_the_demo_hall_is_a_valid_xian_district_centre() -> None:
    doc = validate_doc(load_yaml(demo_text()).model_dump())
    assert len(doc.windows) == 60
    assert len(doc.clerks) == 76
    assert 15 <= len(doc.services) <= 20
    names = {a.name for a in doc.areas}
    assert {"市场准入", "工程建设", "不动产登记", "社保医保", "帮办代办", "绿色通道"} <= names
    kinds = [w.kind for w in doc.windows]
    assert kinds.count(WindowKind.GREEN) == 2
    assert kinds.count(WindowKind.HELPER) == 2
    assert kinds.count(WindowKind.COMPREHENSIVE) > 40
    assert sum(1 for w in doc.windows if len(w.services) > 1) > 40
    assert len({c.name for c in doc.clerks}) == 76


def test_yaml_keeps_chinese_readable_and_round_trips() -> None:
    doc = load_yaml(SMALL)
    text = dump_yaml(doc)
    assert "企业开办" in text
    assert "\\u" not in text
    assert "hours: 09:00-17:00" in text
    assert load_yaml(text) == doc


def test_a_bad_file_lists_every_problem_with_its_path() -> None:
    crossed = SMALL.replace("area: tax, prefix: P", "area: taxes, prefix: A").replace(
        "services: {tax_invoice: 1}}", "services: {tax_refund: 1}}"
    )
    with pytest.raises(HallDocInvalid) as caught:
        validate_doc(load_yaml(crossed).model_dump())
    assert [str(p) for p in caught.value.problems] == [
        "services[0].prefix: 号码字母 A 已被其他服务使用",
        "services[1].prefix: 号码字母 A 已被其他服务使用",
        "services[1].area: 服务区 taxes 不存在",
        "windows[1].services.tax_refund: 服务 tax_refund 不存在",
    ]
    malformed = SMALL.replace("numbers: [1, 500]", "numbers: [500, 1]").replace(
        "hours: 09:00-17:30", "hours: 17:30-09:00"
    )
    with pytest.raises(HallDocInvalid) as caught:
        load_yaml(malformed.replace("number: 2,", "number: two,"))
    messages = {p.path: p.message for p in caught.value.problems}
    assert set(messages) == {"services[0].numbers", "services[1].hours", "windows[1].number"}
    assert "起始号 ≤ 结束号" in messages["services[0].numbers"]
    assert messages["services[1].hours"] == "开始时间必须早于结束时间"
    assert messages["windows[1].number"] == "应为整数"


def test_unknown_fields_and_repeated_keys_are_refused() -> None:
    with pytest.raises(HallDocInvalid) as caught:
        load_yaml(SMALL.replace("notify_ahead: 5}", "notify_ahead: 5, colour: red}"))
    assert [p.path for p in caught.value.problems] == ["services[0].colour"]
    with pytest.raises(HallDocInvalid) as caught:
        load_yaml(
            SMALL.replace("{company_setup: 2, tax_invoice: 1}", "{tax_invoice: 2, tax_invoice: 1}")
        )
    assert "重复的键" in caught.value.problems[0].message
    assert caught.value.problems[0].path == "第 10 行"
    assert caught.value.problems[0].message == "YAML 语法错误：重复的键 'tax_invoice'"


def test_importing_a_bad_file_imports_nothing(database_url: str, tmp_path: Path) -> None:
    doc = load_yaml(SMALL.replace("services: [company_setup, tax_invoice]", "services: [visa]"))
    with migrated_session(database_url, tmp_path) as (session, _):
        report = import_hall(session, doc, replace=False)
        session.commit()
        assert not report.ok
        assert [str(p) for p in report.problems] == ["clerks[0].services[0]: 服务 visa 不存在"]
        assert "未导入任何内容" in report.summary()
        assert session.scalar(select(func.count()).select_from(ServiceArea)) == 0
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_the_demo_hall_imports_with_clerk_accounts_and_exports_the_same(
    database_url: str, tmp_path: Path
) -> None:
    doc = load_yaml(demo_text())
    with migrated_session(database_url, tmp_path) as (session, _):
        report = import_hall(session, doc, replace=True)
        session.commit()
        assert report.ok, report.problems
        assert report.created["windows"] == 60
        assert len(report.passwords) == 76
        assert _sorted(export_hall(session)) == _sorted(doc)

        clerk = session.scalar(select(User).where(User.username == doc.clerks[0].username))
        assert clerk is not None
        assert clerk.role_enum == Role.CLERK
        assert clerk.must_change_password
        assert clerk.display_name == doc.clerks[0].name
        signed_in = authenticate(
            session, username=clerk.username, password=report.passwords[clerk.username]
        )
        assert signed_in is not None

        again = import_hall(session, doc, replace=True)
        session.commit()
        assert again.ok
        assert again.summary() == "导入完成：没有变化"
        assert again.passwords == {}


def test_merging_adds_to_the_hall_and_refuses_a_taken_letter(
    database_url: str, tmp_path: Path
) -> None:
    extra = """
services:
  - {code: id_card, name: 居民身份证, area: market, prefix: S, avg_minutes: 8}
windows:
  - {number: 3, name: 身份证专窗, area: market, kind: dedicated, services: {id_card: 1}}
"""
    with migrated_session(database_url, tmp_path) as (session, _):
        assert import_hall(session, load_yaml(SMALL), replace=False).ok
        session.commit()
        report = import_hall(session, load_yaml(extra), replace=False)
        session.commit()
        assert report.ok, report.problems
        exported = export_hall(session)
        assert [s.code for s in exported.services] == ["company_setup", "tax_invoice", "id_card"]
        assert [w.number for w in exported.windows] == [1, 2, 3]

        clash = import_hall(
            session, load_yaml(extra.replace("prefix: S", "prefix: A")), replace=False
        )
        assert [str(p) for p in clash.problems] == [
            "services[0].prefix: 号码字母 A 已被现有服务 company_setup（企业开办）使用"
        ]


def test_replacing_retires_what_the_file_omits_and_frees_its_letter(
    database_url: str, tmp_path: Path
) -> None:
    new_hall = SMALL.replace(
        "code: company_setup, name: 企业开办", "code: housing_fund, name: 公积金提取"
    )
    new_hall = new_hall.replace("company_setup", "housing_fund").replace(
        "  - {number: 2, name: 税务窗口, area: tax, kind: dedicated, services: {tax_invoice: 1}}\n",
        "",
    )
    with migrated_session(database_url, tmp_path) as (session, _):
        assert import_hall(session, load_yaml(SMALL), replace=True).ok
        session.commit()
        old = session.scalar(select(Service).where(Service.code == "company_setup"))
        assert old is not None
        now = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
        session.add(
            Ticket(
                day=now.date(), service_id=old.id, seq=1, number="A001", channel="kiosk",
                state=TicketState.DONE.value, token="t-old", issued_at=now, queued_at=now,
            )
        )  # fmt: skip
        session.commit()

        report = import_hall(session, load_yaml(new_hall), replace=True)
        session.commit()
        assert report.ok, report.problems
        assert report.retired["services"] == 1
        assert report.retired["windows"] == 1
        fund = session.scalar(select(Service).where(Service.code == "housing_fund"))
        assert fund is not None
        assert fund.prefix == "A"
        session.refresh(old)
        assert not old.active
        assert session.scalar(select(Ticket.number)) == "A001"
        window2 = session.scalar(select(Window).where(Window.number == 2))
        assert window2 is not None
        assert not window2.active
        exported = export_hall(session)
        assert [s.code for s in exported.services] == ["housing_fund", "tax_invoice"]
        assert [w.number for w in exported.windows] == [1]
        assert (
            session.scalar(
                select(func.count())
                .select_from(ClerkService)
                .where(ClerkService.service_id == old.id)
            )
            == 0
        )


def test_a_service_with_people_still_waiting_cannot_be_retired(
    database_url: str, tmp_path: Path
) -> None:
    with migrated_session(database_url, tmp_path) as (session, _):
        assert import_hall(session, load_yaml(SMALL), replace=True).ok
        session.commit()
        tax = session.scalar(select(Service).where(Service.code == "tax_invoice"))
        assert tax is not None
        now = dt.datetime.now(dt.UTC)
        session.add(
            Ticket(
                day=now.date(), service_id=tax.id, seq=7, number="P007", channel="kiosk",
                state=TicketState.WAITING.value, token="t-wait", issued_at=now, queued_at=now,
            )
        )  # fmt: skip
        session.commit()
        only_market = load_yaml(SMALL).model_copy(
            update={
                "services": load_yaml(SMALL).services[:1],
                "windows": [],
                "clerks": [],
            }
        )
        report = import_hall(session, only_market, replace=True)
        assert not report.ok
        assert "P007 尚未办结" in report.problems[0].message
        session.rollback()
        session.refresh(tax)
        assert tax.active


def test_the_cli_imports_and_exports_a_hall(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANXIN_CONFIG", raising=False)
    monkeypatch.setenv("ANXIN_HUB__DATABASE_URL", database_url)
    monkeypatch.setenv("ANXIN_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    source = tmp_path / "hall.yaml"
    source.write_text(SMALL, encoding="utf-8")

    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("area: tax, prefix: P", "area: tax, prefix: A"), "utf-8")
    refused = runner.invoke(app, ["hall", "import", str(bad)])
    assert refused.exit_code == 1
    assert "services[1].prefix: 号码字母 A 已被其他服务使用" in refused.output

    result = runner.invoke(app, ["hall", "import", str(source), "--replace"])
    assert result.exit_code == 0, result.output
    assert "新建窗口人员 zhangwei  一次性密码：" in result.output

    out = tmp_path / "exported.yaml"
    result = runner.invoke(app, ["hall", "export", str(out)])
    assert result.exit_code == 0, result.output
    assert load_yaml(out.read_text("utf-8")) == load_yaml(SMALL)
    printed = runner.invoke(app, ["hall", "export"])
    assert "企业开办" in printed.output
