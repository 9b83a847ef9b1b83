"""手语翻译统计 as files: CSV (UTF-8 with BOM, for Excel) and XLSX, from the
same cells the page shows."""

from __future__ import annotations

import csv
import io
from typing import Final

from openpyxl import Workbook
from openpyxl.styles import Font

from central.interpreting.reports import Figures, InterpretingReport

Cell = str | int | float | None

HEADERS: Final = (
    "请求数", "接通", "放弃", "进行中", "平均应答(秒)", "平均通话(秒)",
    "放弃率(%)", "30秒内接通(%)", "120秒内接通(%)", "分配次数", "未接/拒接",
)  # fmt: skip


def cells(f: Figures) -> list[Cell]:
    return [
        f.requests, f.answered, f.abandoned, f.open, f.asa_s, f.aht_s,
        f.abandon_rate, f.within_30, f.within_120, f.offers, f.missed,
    ]  # fmt: skip


def _sections(report: InterpretingReport) -> list[tuple[str, list[Figures]]]:
    return [
        ("全部", [report.total]),
        ("按翻译员", report.by_interpreter),
        ("按日期", report.by_day),
    ]


def to_csv(report: InterpretingReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["统计范围", report.period.label])
    writer.writerow(["维度", "项目", *HEADERS])
    for name, rows in _sections(report):
        for f in rows:
            writer.writerow([name, f.label, *("" if v is None else v for v in cells(f))])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(report: InterpretingReport) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "手语翻译统计"
    sheet.append(["统计范围", report.period.label])
    sheet.append(["维度", "项目", *HEADERS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for name, rows in _sections(report):
        for f in rows:
            sheet.append([name, f.label, *cells(f)])
    sheet.column_dimensions["B"].width = 16
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
