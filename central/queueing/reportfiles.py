"""统计报表 as files: CSV (UTF-8 with BOM, so Excel shows the Chinese) and XLSX.

Both are built from `cells`, the same values the page shows, so a figure
never differs between the screen and the spreadsheet.
"""

from __future__ import annotations

import csv
import io
from typing import Final

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from central.queueing.reports import HallReport, Row

Cell = str | int | float | None

HEADERS: Final = (
    "取号量", "转入", "办结", "过号",
    "平均等候(分钟)", "等候P90(分钟)", "平均办理(分钟)", "办理P90(分钟)",
)  # fmt: skip


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def cells(row: Row) -> list[Cell]:
    return [
        row.issued, row.transferred_in, row.served, row.no_show,
        minutes(row.wait_avg_s), minutes(row.wait_p90_s),
        minutes(row.service_avg_s), minutes(row.service_p90_s),
    ]  # fmt: skip


def to_csv(report: HallReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["统计范围", report.period.label])
    writer.writerow(["维度", "项目", *HEADERS])
    writer.writerow(["全厅", report.total.label, *_blank(cells(report.total))])
    for section in report.sections:
        for row in section.rows:
            writer.writerow([section.name, row.label, *_blank(cells(row))])
    return out.getvalue().encode("utf-8-sig")


def _blank(values: list[Cell]) -> list[Cell]:
    return ["" if v is None else v for v in values]


def to_xlsx(report: HallReport) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "全厅合计"
    bold = Font(bold=True)
    _write(sheet, report, "项目", [report.total], bold)
    for section in report.sections:
        _write(book.create_sheet(section.name), report, section.key_title, section.rows, bold)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write(sheet: object, report: HallReport, key_title: str, rows: list[Row], bold: Font) -> None:
    # openpyxl types a workbook's sheets loosely; ours are always plain worksheets.
    assert isinstance(sheet, Worksheet)
    sheet.append(["统计范围", report.period.label])
    sheet.append([key_title, *HEADERS])
    for cell in sheet[2]:
        cell.font = bold
    for row in rows:
        sheet.append([row.label, *cells(row)])
    sheet.column_dimensions["A"].width = 28
    for letter in "BCDEFGHI":
        sheet.column_dimensions[letter].width = 14
    sheet.freeze_panes = "B3"
