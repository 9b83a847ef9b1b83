"""Excel and JSON files: lossless round trip, and every bad row reported."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from central.matters import excel
from central.matters.schema import (
    CaseKind,
    Faq,
    Fee,
    Library,
    Material,
    MaterialKind,
    Matter,
    MatterType,
    Necessity,
    Option,
    Question,
    TimeLimit,
    TimeUnit,
)
from tests.matters.library import small_library

# Text a hall types: Chinese, ASCII, digits, punctuation, inner spaces, and a
# leading "=" that Excel must not turn into a formula.
_ALPHABET = st.sampled_from(list("办理事项材料证明营业执照abcXYZ0129 =-（）《》、，。:/\"'&<>"))
text = st.text(_ALPHABET, max_size=12)
line = st.text(_ALPHABET, min_size=1, max_size=8)
keys = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)
limits = st.none() | st.builds(
    TimeLimit, amount=st.integers(0, 3650), unit=st.sampled_from(TimeUnit)
)
fees = st.builds(Fee, charged=st.booleans(), basis=text, description=text)


@st.composite
def matters(draw: st.DrawFn, key: str) -> Matter:
    material_keys = draw(st.lists(keys, max_size=4, unique=True))
    materials = tuple(
        Material(key=k, name=draw(line), kind=draw(st.sampled_from(MaterialKind)),
                 copies=draw(st.integers(0, 99)), necessity=draw(st.sampled_from(Necessity)),
                 fill_notes=draw(st.text(_ALPHABET | st.just("\n"), max_size=12)))
        for k in material_keys
    )  # fmt: skip
    question_keys = draw(st.lists(keys, max_size=3, unique=True))
    questions = []
    for qk in question_keys:
        option_keys = draw(st.lists(keys, min_size=1, max_size=3, unique=True))
        options = tuple(
            Option(
                key=ok, label=draw(line),
                add_materials=tuple(draw(st.lists(st.sampled_from(material_keys), max_size=2)))
                if material_keys else (),
                add_conditions=tuple(draw(st.lists(line, max_size=2))),
                fee=draw(st.none() | fees), promised_limit=draw(limits),
                next=tuple(draw(st.lists(st.sampled_from(question_keys), max_size=1))),
            )
            for ok in option_keys
        )  # fmt: skip
        questions.append(Question(key=qk, text=draw(line), help=draw(text), options=options))
    return Matter(
        key=key, name=draw(line), basic_code=draw(st.from_regex(r"[0-9]{0,12}", fullmatch=True)),
        matter_type=draw(st.sampled_from(MatterType)), legal_basis=draw(text),
        conditions=tuple(draw(st.lists(line, max_size=3))),
        procedure=tuple(draw(st.lists(line, max_size=3))),
        legal_limit=draw(limits), promised_limit=draw(limits),
        case_kind=draw(st.sampled_from(CaseKind)), visits=draw(st.integers(0, 10)),
        fee=draw(fees), online=draw(st.booleans()), daily_bookings=draw(st.integers(0, 500)),
        keywords=tuple(draw(st.lists(line, max_size=3))), materials=materials,
        base_materials=tuple(draw(st.lists(st.sampled_from(material_keys), max_size=2)))
        if material_keys else (),
        questions=tuple(questions), root=tuple(question_keys[:1]),
    )  # fmt: skip


@st.composite
def libraries(draw: st.DrawFn) -> Library:
    matter_keys = draw(st.lists(keys, max_size=3, unique=True))
    faqs = tuple(
        Faq(key=k, question=draw(line), answer=draw(line),
            matters=tuple(draw(st.lists(st.sampled_from(matter_keys), max_size=2)))
            if matter_keys else ())
        for k in draw(st.lists(keys, max_size=2, unique=True))
    )  # fmt: skip
    synonyms = draw(st.dictionaries(line, st.lists(line, max_size=3).map(tuple), max_size=3))
    return Library(
        demo=draw(st.booleans()),
        matters=tuple(draw(matters(k)) for k in matter_keys),
        faqs=faqs,
        synonyms=synonyms,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(libraries())
def test_export_then_import_gives_the_identical_library(library: Library) -> None:
    assert excel.load_xlsx(excel.dump_xlsx(library)) == library
    assert excel.load_json(excel.dump_json(library)) == library


def test_the_workbook_has_one_sheet_per_table_with_chinese_headers() -> None:
    wb = load_workbook(io.BytesIO(excel.dump_xlsx(small_library())))
    assert wb.sheetnames == ["事项", "材料", "情形问题", "情形选项", "常见问题", "同义词", "说明"]
    headers = [c.value for c in wb["材料"][1]]
    assert headers[:3] == ["事项标识", "材料标识", "材料名称"]
    names = [row[2] for row in wb["材料"].iter_rows(min_row=2, values_only=True)]
    assert "营业执照" in names


def _edited(changes: dict[tuple[str, int, str], str | None]) -> bytes:
    """The small library's workbook with some cells changed (sheet, row, header)."""
    wb = load_workbook(io.BytesIO(excel.dump_xlsx(small_library())))
    for (sheet, row, header), value in changes.items():
        ws = wb[sheet]
        column = [c.value for c in ws[1]].index(header) + 1
        ws.cell(row=row, column=column).value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_every_bad_row_is_reported_with_sheet_row_and_reason() -> None:
    data = _edited({
        ("材料", 3, "份数"): "两份",
        ("材料", 4, "材料名称"): None,
        ("情形选项", 2, "问题标识"): "q_none",
        ("事项", 3, "事项类型"): "行政审批",
    })  # fmt: skip
    with pytest.raises(excel.LibraryFileInvalid) as caught:
        excel.load_xlsx(data)
    problems = [str(p) for p in caught.value.problems]
    assert "工作表“材料”第 3 行“份数”：应为整数" in problems
    assert "工作表“材料”第 4 行“材料名称”：不能为空" in problems
    assert "工作表“情形选项”第 2 行“问题标识”：问题 q_none 不在“情形问题”工作表中" in problems
    assert "工作表“事项”第 3 行“事项类型”：应为事项类型名称，如“行政许可”“公共服务”" in problems
    # The bad matter's own materials are not reported again.
    assert len(problems) == 4, problems


def test_a_bad_key_is_explained_in_chinese() -> None:
    with pytest.raises(excel.LibraryFileInvalid) as caught:
        excel.load_xlsx(_edited({("材料", 2, "材料标识"): "营业执照"}))
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("材料", 2, "材料标识")
    assert problem.reason.startswith("格式不对")


def test_a_list_item_with_a_line_break_is_refused_rather_than_lost() -> None:
    library = Library(
        matters=(small_library().matters[0].model_copy(update={"conditions": ("甲\n乙",)}),)
    )
    with pytest.raises(excel.ExportError, match="受理条件"):
        excel.dump_xlsx(library)
    assert excel.load_json(excel.dump_json(library)) == library


def test_a_file_that_is_not_a_workbook_is_one_problem() -> None:
    with pytest.raises(excel.LibraryFileInvalid) as caught:
        excel.load("matters.xlsx", b"not a zip")
    assert [str(p) for p in caught.value.problems] == [
        "工作表“(文件)”：不是有效的 Excel（.xlsx）文件"
    ]
