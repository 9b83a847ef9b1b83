"""统计报表: figures a hall manager can check by hand from a handful of tickets."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.auth.models import User
from central.queueing.hallconfig import import_hall, load_yaml
from central.queueing.models import Service, Ticket, TicketState, Window
from central.queueing.period import Period, hall_zone
from central.queueing.reportfiles import cells, to_csv, to_xlsx
from central.queueing.reports import HallReport, Row, hall_report, p90
from tests.queueing.halldb import migrated_session

HALL = """
areas: [{code: market, name: 市场准入}, {code: tax, name: 税务}]
services:
  - {code: company_setup, name: 企业开办, area: market, prefix: A}
  - {code: tax_invoice, name: 发票申领, area: tax, prefix: P}
windows:
  - {number: 1, name: 综合窗口, area: market, services: {company_setup: 1}}
  - {number: 2, name: 综合窗口, area: tax, services: {company_setup: 1, tax_invoice: 1}}
clerks:
  - {username: zhangwei, name: 张伟, services: [company_setup]}
  - {username: lina, name: 李娜, services: [company_setup, tax_invoice]}
"""
SHANGHAI = hall_zone("Asia/Shanghai")
DAY = dt.date(2026, 3, 2)


def hhmm(value: str | None, day: dt.date = DAY) -> dt.datetime | None:
    if value is None:
        return None
    clock = dt.time.fromisoformat(value)
    return dt.datetime.combine(day, clock, SHANGHAI).astimezone(dt.UTC)


def seed(session: Session) -> None:
    assert import_hall(session, load_yaml(HALL), replace=True).ok
    svc = {s.prefix: s.id for s in session.scalars(select(Service))}
    win = {w.number: w.id for w in session.scalars(select(Window))}
    who = {u.username: u.id for u in session.scalars(select(User))}

    def ticket(
        number: str, state: TicketState, issued: str, called: str | None = None,
        serving: str | None = None, ended: str | None = None, window: int | None = None,
        clerk: str | None = None, day: dt.date = DAY, from_id: int | None = None,
    ) -> Ticket:  # fmt: skip
        issued_at = hhmm(issued, day)
        assert issued_at is not None
        t = Ticket(
            day=day, service_id=svc[number[0]], seq=int(number[1:]), number=number,
            channel="kiosk", state=state.value, token=f"{number}-{day}", issued_at=issued_at,
            queued_at=issued_at, called_at=hhmm(called, day), serving_at=hhmm(serving, day),
            ended_at=hhmm(ended, day), window_id=win[window] if window else None,
            clerk_id=who[clerk] if clerk else None, transferred_from_id=from_id,
        )  # fmt: skip
        session.add(t)
        session.flush()
        return t

    done, gone = TicketState.DONE, TicketState.NO_SHOW
    ticket("A001", done, "09:00", "09:10", "09:11", "09:31", 1, "zhangwei")
    a2 = ticket("A002", TicketState.TRANSFERRED, "09:05", "09:25", "09:26", "09:36", 1, "zhangwei")
    ticket("A003", gone, "09:20", "09:50", window=2, clerk="lina")
    ticket("A004", TicketState.WAITING, "10:00")
    ticket("A005", done, "10:30", "10:40", "10:40", "11:10", 2, "lina")
    # Beijing 07:45 is 23:45 UTC the day before: still this hall day.
    ticket("A006", TicketState.CANCELLED, "07:45")
    ticket("P001", done, "09:30", "09:32", "09:33", "09:41", 2, "lina")
    # Transferred from A002: keeps the original issue time, so its wait is not counted.
    ticket("P002", done, "09:05", "09:40", "09:41", "09:45", 2, "lina", from_id=a2.id)
    # Other days, outside a one-day report.
    ticket(
        "A001", done, "09:00", "09:01", "09:01", "09:02", 1, "zhangwei", day=DAY + dt.timedelta(1)
    )
    ticket(
        "A900", done, "23:50", "23:51", "23:51", "23:55", 1, "zhangwei", day=DAY - dt.timedelta(1)
    )
    session.commit()


def figures(row: Row) -> tuple[object, ...]:
    """issued, transferred in, served, no-show, then minutes: wait avg/p90, service avg/p90."""
    return tuple(cells(row))


def day_report(database_url: str, tmp_path: Path) -> HallReport:
    with migrated_session(database_url, tmp_path) as (session, _):
        seed(session)
        return hall_report(session, period=Period(DAY, DAY, SHANGHAI))


def test_the_90th_percentile_is_a_real_ticket_figure() -> None:
    assert p90([]) is None
    assert p90([5.0]) == 5.0
    assert p90([float(x) for x in range(1, 11)]) == 9.0
    assert p90([float(x) for x in range(1, 12)]) == 10.0


def test_the_hall_totals_for_a_day_are_exact(database_url: str, tmp_path: Path) -> None:
    report = day_report(database_url, tmp_path)
    assert report.total.label == "全厅合计"
    assert figures(report.total) == (7, 1, 4, 1, 14.4, 30.0, 14.4, 30.0)


def test_each_service_window_clerk_and_hour_has_its_own_figures(
    database_url: str, tmp_path: Path
) -> None:
    report = day_report(database_url, tmp_path)
    by = {s.name: {r.label: figures(r) for r in s.rows} for s in report.sections}
    assert by["按服务"] == {
        "A 企业开办": (6, 0, 2, 1, 17.5, 30.0, 20.0, 30.0),
        "P 发票申领": (1, 1, 2, 0, 2.0, 2.0, 6.0, 8.0),
    }
    assert by["按窗口"] == {
        "1 号窗口": (None, None, 1, 0, 15.0, 20.0, 15.0, 20.0),
        "2 号窗口": (None, None, 3, 1, 14.0, 30.0, 14.0, 30.0),
    }
    assert by["按人员"] == {
        "李娜（lina）": (None, None, 3, 1, 14.0, 30.0, 14.0, 30.0),
        "张伟（zhangwei）": (None, None, 1, 0, 15.0, 20.0, 15.0, 20.0),
    }
    assert by["按时段"] == {
        "07:00–08:00": (1, 0, 0, 0, None, None, None, None),
        "09:00–10:00": (4, 1, 3, 1, 15.5, 30.0, 10.5, 20.0),
        "10:00–11:00": (2, 0, 1, 0, 10.0, 10.0, 30.0, 30.0),
    }


def test_a_range_of_days_includes_each_day(database_url: str, tmp_path: Path) -> None:
    with migrated_session(database_url, tmp_path) as (session, _):
        seed(session)
        three = hall_report(
            session, period=Period(DAY - dt.timedelta(1), DAY + dt.timedelta(1), SHANGHAI)
        )
        empty = hall_report(
            session, period=Period(dt.date(2026, 1, 1), dt.date(2026, 1, 1), SHANGHAI)
        )
    assert three.total.issued == 9
    assert three.total.served == 6
    assert figures(empty.total) == (0, 0, 0, 0, None, None, None, None)
    assert all(not s.rows for s in empty.sections)


def test_the_spreadsheet_and_csv_carry_the_same_numbers_as_the_page(
    database_url: str, tmp_path: Path
) -> None:
    report = day_report(database_url, tmp_path)
    path = tmp_path / "report.xlsx"
    path.write_bytes(to_xlsx(report))
    book = load_workbook(path)
    assert book.sheetnames == ["全厅合计", "按服务", "按窗口", "按人员", "按时段"]
    total = [c.value for c in book["全厅合计"][3]]
    assert total == ["全厅合计", *cells(report.total)]
    for section in report.sections:
        sheet = book[section.name]
        assert sheet["A1"].value == "统计范围"
        assert sheet["B1"].value == "2026-03-02"
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
        assert rows == [[r.label, *cells(r)] for r in section.rows]

    text = to_csv(report).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[1][:3] == ["维度", "项目", "取号量"]
    assert ["按服务", "A 企业开办", "6", "0", "2", "1", "17.5", "30.0", "20.0", "30.0"] in lines
    assert ["按窗口", "1 号窗口", "", "", "1", "0", "15.0", "20.0", "15.0", "20.0"] in lines
