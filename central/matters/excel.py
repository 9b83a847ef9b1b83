"""The matter library as an Excel workbook or a JSON file.

Excel has one sheet per table, with Chinese column headers:

- 事项: one row per matter (every element of `Matter` except its materials
  and situations); lists (受理条件, 办理流程, 关键词, 基本材料, 首问问题) hold one
  item per line in their cell;
- 材料: one row per material, in the matter's order;
- 情形问题 and 情形选项: the situation tree, one row per question and per
  option; an option's 收费 left empty keeps the matter's fee;
- 常见问题 and 同义词: the hall-wide FAQs and synonyms;
- 说明: whether the library is demonstration content.

Export then import gives an identical `Library`. Every cell is written as
text or a number (a value starting with ``=`` stays text, never a formula).
Because lists use one line per item, a list item must be non-empty and on one
line; export refuses otherwise (`ExportError`) rather than lose it; use JSON.

Import validates every row and reports each bad one with its sheet, row and
the reason in Chinese (`LibraryFileInvalid`); a file with any bad row yields
no library at all.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel, ValidationError

from central.matters.schema import (
    MATTER_TYPE_LABELS,
    Faq,
    Library,
    Material,
    Matter,
    MatterType,
    Option,
    Question,
)


@dataclass(frozen=True)
class FileProblem:
    sheet: str
    row: int | None
    reason: str
    column: str = ""

    def __str__(self) -> str:
        where = f"工作表“{self.sheet}”" if self.sheet != "JSON" else "JSON"
        if self.row is not None:
            where += f"第 {self.row} 行"
        if self.column:
            where += f"“{self.column}”"
        return f"{where}：{self.reason}"


class LibraryFileInvalid(Exception):
    def __init__(self, problems: list[FileProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class ExportError(ValueError):
    """A library that Excel cannot hold without loss."""


# --- columns ---------------------------------------------------------------------------

YES, NO = "是", "否"
_TYPE_BY_LABEL: Final = {label: t for t, label in MATTER_TYPE_LABELS.items()}


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    kind: str = "text"  # text, int, bool, list, type, enum


MATTER_COLUMNS: Final = (
    Column("事项标识", "key"),
    Column("事项名称", "name"),
    Column("基本编码", "basic_code"),
    Column("实施编码", "implementation_code"),
    Column("业务办理项编码", "handling_code"),
    Column("事项类型", "matter_type", "type"),
    Column("设定依据", "legal_basis"),
    Column("实施主体", "authority"),
    Column("实施主体统一社会信用代码", "authority_credit_code"),
    Column("受理条件", "conditions", "list"),
    Column("办理流程", "procedure", "list"),
    Column("法定办结时限", "legal_limit.amount", "int"),
    Column("法定时限单位", "legal_limit.unit"),
    Column("承诺办结时限", "promised_limit.amount", "int"),
    Column("承诺时限单位", "promised_limit.unit"),
    Column("办件类型", "case_kind"),
    Column("到办事现场次数", "visits", "int"),
    Column("服务对象", "audience"),
    Column("是否收费", "fee.charged", "bool"),
    Column("收费依据", "fee.basis"),
    Column("收费标准", "fee.description"),
    Column("办理地点", "location"),
    Column("办理时间", "hours"),
    Column("咨询方式", "consultation"),
    Column("监督投诉方式", "complaint"),
    Column("结果名称", "result_name"),
    Column("结果样本", "result_sample"),
    Column("是否支持网上办理", "online", "bool"),
    Column("是否支持预约办理", "bookable", "bool"),
    Column("每天可预约办理量", "daily_bookings", "int"),
    Column("大厅服务代码", "service"),
    Column("关键词", "keywords", "list"),
    Column("基本材料", "base_materials", "list"),
    Column("首问问题", "root", "list"),
)
MATERIAL_COLUMNS: Final = (
    Column("事项标识", "matter"),
    Column("材料标识", "key"),
    Column("材料名称", "name"),
    Column("材料类型", "kind"),
    Column("材料形式", "form"),
    Column("份数", "copies", "int"),
    Column("规格", "spec"),
    Column("必要性", "necessity"),
    Column("来源渠道", "source"),
    Column("来源说明", "source_note"),
    Column("空白表格", "blank_form"),
    Column("示例样表", "sample_form"),
    Column("填报须知", "fill_notes"),
    Column("受理标准", "acceptance_standard"),
    Column("依据", "basis"),
)
QUESTION_COLUMNS: Final = (
    Column("事项标识", "matter"),
    Column("问题标识", "key"),
    Column("问题", "text"),
    Column("说明", "help"),
)
OPTION_COLUMNS: Final = (
    Column("事项标识", "matter"),
    Column("问题标识", "question"),
    Column("选项标识", "key"),
    Column("选项", "label"),
    Column("增加材料", "add_materials", "list"),
    Column("减少材料", "remove_materials", "list"),
    Column("增加条件", "add_conditions", "list"),
    Column("收费", "fee.charged", "bool"),
    Column("收费依据", "fee.basis"),
    Column("收费标准", "fee.description"),
    Column("承诺办结时限", "promised_limit.amount", "int"),
    Column("承诺时限单位", "promised_limit.unit"),
    Column("后续问题", "next", "list"),
)
FAQ_COLUMNS: Final = (
    Column("问题标识", "key"),
    Column("问题", "question"),
    Column("回答", "answer"),
    Column("相关事项", "matters", "list"),
)
SYNONYM_COLUMNS: Final = (Column("词语", "word"), Column("同义词", "words", "list"))

SHEETS: Final = {
    "事项": MATTER_COLUMNS,
    "材料": MATERIAL_COLUMNS,
    "情形问题": QUESTION_COLUMNS,
    "情形选项": OPTION_COLUMNS,
    "常见问题": FAQ_COLUMNS,
    "同义词": SYNONYM_COLUMNS,
}
INFO_SHEET: Final = "说明"
DEMO_LABEL: Final = "演示数据"


# --- export ------------------------------------------------------------------------------


def _flat(doc: dict[str, Any], columns: Iterable[Column], where: str) -> list[Any]:
    out: list[Any] = []
    for col in columns:
        value: Any = doc
        for part in col.field.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if col.kind == "list":
            items = list(value or ())
            for item in items:
                if not item or "\n" in item or "\r" in item:
                    raise ExportError(
                        f"{where}的“{col.header}”有空白或多行的一项，"
                        "Excel 无法无损保存；请导出为 JSON"
                    )
            out.append("\n".join(items) if items else None)
        elif col.kind == "bool":
            out.append(None if value is None else (YES if value else NO))
        elif col.kind == "type":
            out.append(MATTER_TYPE_LABELS[MatterType(value)])
        else:
            out.append(None if value == "" else value)
    return out


def _write(ws: Worksheet, columns: tuple[Column, ...], rows: Iterable[list[Any]]) -> None:
    ws.append([c.header for c in columns])
    for values in rows:
        ws.append(values)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
    for i, col in enumerate(columns):
        letter = get_column_letter(i + 1)
        ws.column_dimensions[letter].width = max(10, min(40, len(col.header) * 2 + 4))
    ws.freeze_panes = "A2"


def dump_xlsx(library: Library) -> bytes:
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    sheets = {name: wb.create_sheet(name) for name in SHEETS}
    matters, materials, questions, options = [], [], [], []
    for m in library.matters:
        doc = m.model_dump(mode="json")
        where = f"事项 {m.key}"
        matters.append(_flat(doc, MATTER_COLUMNS, where))
        for mat in doc["materials"]:
            materials.append(_flat({"matter": m.key, **mat}, MATERIAL_COLUMNS, where))
        for q in doc["questions"]:
            questions.append(_flat({"matter": m.key, **q}, QUESTION_COLUMNS, where))
            for o in q["options"]:
                row = {"matter": m.key, "question": q["key"], **o}
                options.append(_flat(row, OPTION_COLUMNS, f"{where}的问题 {q['key']}"))
    faqs = [
        _flat(f.model_dump(mode="json"), FAQ_COLUMNS, f"常见问题 {f.key}") for f in library.faqs
    ]
    synonyms = [
        _flat({"word": w, "words": list(ws)}, SYNONYM_COLUMNS, f"同义词“{w}”")
        for w, ws in library.synonyms.items()
    ]
    try:
        _write(sheets["事项"], MATTER_COLUMNS, matters)
        _write(sheets["材料"], MATERIAL_COLUMNS, materials)
        _write(sheets["情形问题"], QUESTION_COLUMNS, questions)
        _write(sheets["情形选项"], OPTION_COLUMNS, options)
        _write(sheets["常见问题"], FAQ_COLUMNS, faqs)
        _write(sheets["同义词"], SYNONYM_COLUMNS, synonyms)
    except IllegalCharacterError as exc:
        raise ExportError("内容含有 Excel 不允许的控制字符，请导出为 JSON") from exc
    info = wb.create_sheet(INFO_SHEET)
    info.append(["项目", "值"])
    info.append([DEMO_LABEL, YES if library.demo else NO])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- import -----------------------------------------------------------------------------

_REASONS: Final = {
    "missing": "不能为空",
    "string_too_short": "不能为空",
    "too_short": "至少需要一项",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_type": "应为整数",
    "bool_parsing": "应为“是”或“否”",
    "extra_forbidden": "不认识的字段",
}


def reason(error: Any) -> str:
    """A pydantic error in Chinese."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _REASONS:
        return str(_REASONS[kind])
    if kind == "string_too_long":
        return f"过长（最多 {ctx.get('max_length')} 个字）"
    if kind == "string_pattern_mismatch":
        return "格式不对：应为小写英文字母开头，只含小写字母、数字和下划线，最长 64 个字符"
    if kind == "enum":
        return f"应为以下之一：{ctx.get('expected', '')}".replace("'", "")
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    return f"不符合要求（{error.get('msg', kind)}）"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Reader:
    def __init__(self) -> None:
        self.problems: list[FileProblem] = []
        # Keys of rows already reported bad: rows that refer to them are not
        # reported again (a bad matter row must not flag each of its materials).
        self.rejected: set[str] = set()

    def rows(
        self, wb: Any, sheet: str, columns: tuple[Column, ...]
    ) -> list[tuple[int, dict[str, Any]]]:
        if sheet not in wb.sheetnames:
            if sheet in ("事项",):
                self.problems.append(FileProblem(sheet, None, "缺少这个工作表"))
            return []
        ws = wb[sheet]
        it = ws.iter_rows(values_only=True)
        header = [(_cell_text(v)).strip() for v in next(it, ())]
        index: dict[str, int] = {}
        for col in columns:
            if col.header in header:
                index[col.header] = header.index(col.header)
            else:
                self.problems.append(FileProblem(sheet, 1, f"缺少列“{col.header}”"))
        if len(index) < len(columns):
            return []
        out = []
        for number, values in enumerate(it, start=2):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            cells = {h: values[i] if i < len(values) else None for h, i in index.items()}
            row = self._row(sheet, number, columns, cells)
            if row is not None:
                out.append((number, row))
            elif sheet == "事项" and isinstance(key := cells.get("事项标识"), str):
                self.rejected.add(key)
        return out

    def _row(
        self, sheet: str, number: int, columns: tuple[Column, ...], cells: dict[str, Any]
    ) -> dict[str, Any] | None:
        doc: dict[str, Any] = {}
        ok = True
        for col in columns:
            raw = cells[col.header]
            try:
                value = self._value(col, raw)
            except ValueError as exc:
                self.problems.append(FileProblem(sheet, number, str(exc), col.header))
                ok = False
                continue
            if value is None:
                continue
            target = doc
            *parents, last = col.field.split(".")
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = value
        return doc if ok else None

    def _value(self, col: Column, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        if col.kind == "int":
            if isinstance(raw, bool):
                raise ValueError("应为整数")
            if isinstance(raw, int):
                return raw
            if isinstance(raw, float) and raw.is_integer():
                return int(raw)
            text = _cell_text(raw).strip()
            if text.lstrip("-").isdigit():
                return int(text)
            raise ValueError("应为整数")
        if col.kind == "bool":
            text = _cell_text(raw).strip()
            if text in (YES, "TRUE", "True", "true", "1"):
                return True
            if text in (NO, "FALSE", "False", "false", "0"):
                return False
            raise ValueError("应为“是”或“否”")
        if col.kind == "type":
            text = _cell_text(raw).strip()
            if text in _TYPE_BY_LABEL:
                return _TYPE_BY_LABEL[text].value
            if text in {t.value for t in MatterType}:
                return text
            raise ValueError("应为事项类型名称，如“行政许可”“公共服务”")
        if col.kind == "list":
            return [item for item in _cell_text(raw).replace("\r\n", "\n").split("\n") if item]
        return _cell_text(raw)

    def model(self, model: type[BaseModel], doc: dict[str, Any], sheet: str, number: int,
              columns: tuple[Column, ...]) -> Any:  # fmt: skip
        headers = {c.field: c.header for c in columns}
        try:
            return model.model_validate(doc)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
                header = headers.get(field) or headers.get(field.split(".")[0], field)
                self.problems.append(FileProblem(sheet, number, reason(error), header))
            return None


def _limits(doc: dict[str, Any], reader: _Reader, sheet: str, number: int) -> None:
    """An amount without a unit uses the default unit; a unit without amount is wrong."""
    for name, header in (("legal_limit", "法定办结时限"), ("promised_limit", "承诺办结时限")):
        part = doc.get(name)
        if isinstance(part, dict) and "amount" not in part:
            reader.problems.append(FileProblem(sheet, number, "填写了时限单位却没有时限", header))
            del doc[name]


def load_xlsx(data: bytes, progress: Callable[[int], None] | None = None) -> Library:
    """Read a workbook written by `dump_xlsx` (or by a person following it)."""
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        problem = FileProblem("(文件)", None, "不是有效的 Excel（.xlsx）文件")
        raise LibraryFileInvalid([problem]) from None
    reader = _Reader()
    try:
        library = _assemble(wb, reader, progress)
    finally:
        wb.close()
    if reader.problems or library is None:
        raise LibraryFileInvalid(reader.problems)
    return library


def _assemble(wb: Any, reader: _Reader, progress: Callable[[int], None] | None) -> Library | None:
    matter_rows = reader.rows(wb, "事项", MATTER_COLUMNS)
    material_rows = reader.rows(wb, "材料", MATERIAL_COLUMNS)
    question_rows = reader.rows(wb, "情形问题", QUESTION_COLUMNS)
    option_rows = reader.rows(wb, "情形选项", OPTION_COLUMNS)
    faq_rows = reader.rows(wb, "常见问题", FAQ_COLUMNS)
    synonym_rows = reader.rows(wb, "同义词", SYNONYM_COLUMNS)

    docs: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, doc in matter_rows:
        key = doc.get("key")
        if not key:
            reader.problems.append(FileProblem("事项", number, "不能为空", "事项标识"))
            continue
        if key in docs:
            reader.problems.append(
                FileProblem(
                    "事项", number, f"事项标识 {key} 与第 {docs[key][0]} 行重复", "事项标识"
                )
            )
            continue
        _limits(doc, reader, "事项", number)
        doc["materials"], doc["questions"] = [], []
        docs[key] = (number, doc)

    def owner(sheet: str, number: int, row: dict[str, Any]) -> dict[str, Any] | None:
        key = row.pop("matter", None)
        if key in reader.rejected:
            return None
        if key is None or key not in docs:
            why = "不能为空" if key is None else f"事项 {key} 不在“事项”工作表中"
            reader.problems.append(FileProblem(sheet, number, why, "事项标识"))
            return None
        return docs[key][1]

    for number, row in material_rows:
        holder = owner("材料", number, row)
        if holder is not None:
            material = reader.model(Material, row, "材料", number, MATERIAL_COLUMNS)
            if material is not None:
                holder["materials"].append(material)
    questions: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for number, row in question_rows:
        matter_key = str(row.get("matter"))
        found = owner("情形问题", number, row)
        if found is None:
            continue
        qkey = str(row.get("key", ""))
        if (matter_key, qkey) in questions:
            first = questions[(matter_key, qkey)][0]
            reader.problems.append(
                FileProblem("情形问题", number, f"问题标识与第 {first} 行重复", "问题标识")
            )
            continue
        row["options"] = []
        questions[(matter_key, qkey)] = (number, row)
        found["questions"].append(row)
    for number, row in option_rows:
        matter_key, qkey = row.pop("matter", None), row.pop("question", None)
        if matter_key in reader.rejected:
            continue
        if matter_key not in docs:
            why = "不能为空" if matter_key is None else f"事项 {matter_key} 不在“事项”工作表中"
            reader.problems.append(FileProblem("情形选项", number, why, "事项标识"))
            continue
        target = questions.get((str(matter_key), str(qkey)))
        if target is None:
            why = "不能为空" if qkey is None else f"问题 {qkey} 不在“情形问题”工作表中"
            reader.problems.append(FileProblem("情形选项", number, why, "问题标识"))
            continue
        if isinstance(row.get("fee"), dict) and "charged" not in row["fee"]:
            reader.problems.append(
                FileProblem("情形选项", number, "填写了收费依据或标准，请同时填写“收费”", "收费")
            )
            continue
        if isinstance(row.get("promised_limit"), dict) and "amount" not in row["promised_limit"]:
            reader.problems.append(
                FileProblem("情形选项", number, "填写了时限单位却没有时限", "承诺办结时限")
            )
            continue
        option = reader.model(Option, row, "情形选项", number, OPTION_COLUMNS)
        if option is not None:
            target[1]["options"].append(option)
    for (_mkey, _qkey), (number, row) in questions.items():
        if not row["options"]:
            reader.problems.append(
                FileProblem("情形问题", number, "这个问题没有任何选项", "问题标识")
            )
            continue
        question = reader.model(Question, row, "情形问题", number, QUESTION_COLUMNS)
        if question is not None:
            row["_model"] = question

    matters = []
    for _key, (number, doc) in docs.items():
        doc["questions"] = [q["_model"] for q in doc["questions"] if "_model" in q]
        matter = reader.model(Matter, doc, "事项", number, MATTER_COLUMNS)
        if matter is not None:
            matters.append(matter)
        if progress is not None:
            progress(1)
    faqs = []
    for number, row in faq_rows:
        faq = reader.model(Faq, row, "常见问题", number, FAQ_COLUMNS)
        if faq is not None:
            faqs.append(faq)
    synonyms: dict[str, tuple[str, ...]] = {}
    for number, row in synonym_rows:
        word = row.get("word")
        if not word:
            reader.problems.append(FileProblem("同义词", number, "不能为空", "词语"))
        elif word in synonyms:
            reader.problems.append(FileProblem("同义词", number, f"词语“{word}”重复", "词语"))
        else:
            synonyms[word] = tuple(row.get("words", ()))
    demo = False
    if INFO_SHEET in wb.sheetnames:
        for values in wb[INFO_SHEET].iter_rows(min_row=2, values_only=True):
            if values and values[0] == DEMO_LABEL:
                demo = _cell_text(values[1] if len(values) > 1 else "").strip() == YES
    if reader.problems:
        return None
    try:
        return Library(demo=demo, matters=tuple(matters), faqs=tuple(faqs), synonyms=synonyms)
    except ValidationError as exc:
        for error in exc.errors():
            reader.problems.append(FileProblem("(文件)", None, reason(error)))
        return None


# --- JSON and dispatch --------------------------------------------------------------------


def dump_json(library: Library) -> bytes:
    return library.model_dump_json(indent=2).encode()


def load_json(data: bytes) -> Library:
    try:
        return Library.model_validate_json(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            if error["type"] == "json_invalid":
                problems.append(FileProblem("JSON", None, "不是有效的 JSON 文件"))
            else:
                problems.append(FileProblem("JSON", None, reason(error), where))
        raise LibraryFileInvalid(problems) from None


def load(name: str, data: bytes, progress: Callable[[int], None] | None = None) -> Library:
    """A library from a file named `name` (.xlsx or .json)."""
    lower = name.lower()
    if lower.endswith(".xlsx"):
        return load_xlsx(data, progress)
    if lower.endswith(".json"):
        return load_json(data)
    raise LibraryFileInvalid([FileProblem("(文件)", None, "只支持 .xlsx 或 .json 文件")])


def dump(name: str, library: Library) -> bytes:
    if name.lower().endswith(".xlsx"):
        return dump_xlsx(library)
    if name.lower().endswith(".json"):
        return dump_json(library)
    raise ExportError("只支持导出为 .xlsx 或 .json 文件")


def sheet_names() -> list[str]:
    return [*SHEETS, INFO_SHEET]


__all__ = [
    "ExportError",
    "FileProblem",
    "LibraryFileInvalid",
    "dump",
    "dump_json",
    "dump_xlsx",
    "load",
    "load_json",
    "load_xlsx",
    "sheet_names",
]
