"""The fairness log as an auditor meets it: `anxin audit verify` and the queue-jump report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from anxin.cli import app
from central.auth.models import User
from central.queueing.audit import fairness_page
from central.queueing.fairness import FairnessKind, append, verify_chain
from central.queueing.hallconfig import import_hall, load_yaml
from central.queueing.models import FairnessEntry, Window
from central.queueing.period import Period, hall_zone
from tests.queueing.halldb import migrated_session

HALL = """
areas: [{code: market, name: 市场准入}]
services:
  - {code: company_setup, name: 企业开办, area: market, prefix: A}
windows:
  - {number: 1, name: 综合窗口, area: market, services: {company_setup: 1}}
  - {number: 2, name: 综合窗口, area: market, services: {company_setup: 1}}
clerks:
  - {username: zhangwei, name: 张伟, services: [company_setup]}
  - {username: lina, name: 李娜, services: [company_setup]}
"""
SHANGHAI = hall_zone("Asia/Shanghai")
DAY = dt.date(2026, 3, 2)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    """A time of the hall's day (Beijing time), stored as UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI).astimezone(dt.UTC)


def seed(session: Session) -> None:
    assert import_hall(session, load_yaml(HALL), replace=True).ok
    seed_entries(session)


def seed_entries(session: Session) -> None:
    """Seven entries: windows 1 and 2, clerks zhangwei and lina must exist."""
    w = {x.number: x.id for x in session.scalars(select(Window))}
    u = {x.username: x.id for x in session.scalars(select(User))}
    entries = [
        (FairnessKind.OUT_OF_ORDER, "returning_citizen", at(9, 5), "A003", w[1], u["zhangwei"]),
        (FairnessKind.OUT_OF_ORDER, "supervisor", at(9, 40), "A009", w[1], u["zhangwei"]),
        (FairnessKind.OUT_OF_ORDER, "returning_citizen", at(10, 15), "A011", w[1], u["zhangwei"]),
        (FairnessKind.GREEN_CHANNEL, "elderly", at(10, 20), "A014", None, None),
        (FairnessKind.PARK, "documents_missing", at(11, 0), "A015", w[2], u["lina"]),
        (FairnessKind.NO_SHOW, "max_recalls", at(14, 30), "A020", w[2], u["lina"]),
        # The next day: outside a one-day report.
        (FairnessKind.OUT_OF_ORDER, "supervisor", at(9, 0, DAY + dt.timedelta(days=1)), "A001",
         w[2], u["lina"]),
    ]  # fmt: skip
    for kind, reason, when, number, window, clerk in entries:
        append(
            session, kind=kind, reason=reason, at=when, ticket_number=number,
            window_id=window, clerk_id=clerk,
        )  # fmt: skip
    session.commit()


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("ANXIN_CONFIG", raising=False)
    monkeypatch.setenv("ANXIN_HUB__DATABASE_URL", database_url)
    monkeypatch.setenv("ANXIN_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def test_an_untouched_log_verifies(database_url: str, tmp_path: Path, cli_env: CliRunner) -> None:
    with migrated_session(database_url, tmp_path) as (session, _):
        seed(session)
    result = cli_env.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "公平性日志校验通过：共检查 7 条记录" in result.output


def test_an_edited_reason_is_caught_at_that_entry(
    database_url: str, tmp_path: Path, cli_env: CliRunner
) -> None:
    with migrated_session(database_url, tmp_path) as (session, _):
        seed(session)
        first = session.scalars(select(FairnessEntry.id).order_by(FairnessEntry.id)).all()[0]
        # Someone with database access makes a queue-jump look sanctioned.
        session.execute(
            text("UPDATE fairness_log SET reason = 'supervisor' WHERE id = :id"), {"id": first}
        )
        session.commit()
        # The seeded entries are still in this session's identity map; an auditor
        # reads the database, not our cache.
        session.expire_all()
        report = verify_chain(session)
        assert not report.ok
        assert report.first_bad_id == first
        assert report.problem == "内容与哈希不符：记录被修改"
    result = cli_env.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"第一条异常记录 id={first}" in result.output


def test_a_deleted_entry_is_caught_at_the_one_after_it(
    database_url: str, tmp_path: Path, cli_env: CliRunner
) -> None:
    with migrated_session(database_url, tmp_path) as (session, _):
        seed(session)
        ids = session.scalars(select(FairnessEntry.id).order_by(FairnessEntry.id)).all()
        session.execute(text("DELETE FROM fairness_log WHERE id = :id"), {"id": ids[3]})
        session.commit()
        session.expire_all()
        report = verify_chain(session)
        assert report.first_bad_id == ids[4]
        assert report.problem == "链接断开：上一条记录被删除或修改"
    result = cli_env.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"id={ids[4]}" in result.output


def test_the_queue_jump_report_counts_per_window_and_clerk_for_the_day(
    database_url: str, tmp_path: Path
) -> None:
    with migrated_session(database_url, tmp_path) as (session, _):
        seed(session)
        page = fairness_page(session, period=Period(DAY, DAY, SHANGHAI))
    assert page.total == 6
    first = page.by_window[0]
    assert (first.who, first.out_of_order, first.total) == ("1 号窗口", 3, 3)
    assert [(r.kind, r.reason, r.count) for r in first.rows] == [
        ("插队（指定叫号）", "补正材料后返回（returning_citizen）", 2),
        ("插队（指定叫号）", "值班主管指示（supervisor）", 1),
    ]
    assert [(s.who, s.out_of_order, s.total) for s in page.by_window[1:]] == [
        ("2 号窗口", 0, 2),
        ("未关联窗口", 0, 1),
    ]
    assert [(s.who, s.out_of_order) for s in page.by_clerk] == [
        ("张伟（zhangwei）", 3),
        ("李娜（lina）", 0),
        ("未关联人员", 0),
    ]
    newest = page.entries[0]
    assert newest.at.strftime("%Y-%m-%d %H:%M") == "2026-03-02 14:30"
    assert (newest.kind, newest.ticket_number, newest.window) == ("过号", "A020", "2 号窗口")
    assert len(newest.hash_prefix) == 12
