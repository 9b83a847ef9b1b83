"""要素完备检查: each kind of problem a hall must see, and a clean library passing."""

from __future__ import annotations

from central.matters.completeness import (
    Severity,
    check_library,
    check_matter,
    credit_check_char,
    natural_days,
)
from central.matters.schema import (
    Library,
    Material,
    MatterType,
    Option,
    Question,
    TimeLimit,
    TimeUnit,
)
from tests.matters.library import CREDIT, food_license, small_library


def messages(matter: object, path: str) -> list[str]:
    return [p.message for p in check_matter(matter) if p.path == path]  # type: ignore[arg-type]


def test_a_complete_library_passes() -> None:
    report = check_library(small_library())
    assert report.errors == 0, report.problems
    assert report.summary() == "要素完备：2 个事项全部通过检查"


def test_known_credit_codes_pass_the_gb_32100_check_digit() -> None:
    # The worked example of GB 32100-2015.
    assert credit_check_char("91350100M000100Y4") == "3"


def test_a_code_of_the_wrong_length_is_reported() -> None:
    problems = messages(food_license(basic_code="0112345"), "basic_code")
    assert problems == ["基本编码应为 12 位数字，现为 7 位“0112345”"]
    impl = messages(food_license(implementation_code="0112"), "implementation_code")
    assert impl == ["实施编码应为 31 位，现为 4 位"]


def test_a_bad_check_digit_is_reported() -> None:
    wrong = CREDIT[:17] + ("0" if CREDIT[17] != "0" else "1")
    problems = messages(food_license(authority_credit_code=wrong), "authority_credit_code")
    assert len(problems) == 1
    assert f"第 18 位应为 {CREDIT[17]}" in problems[0]


def test_a_basic_code_not_matching_the_matter_type_is_reported() -> None:
    problems = messages(food_license(matter_type=MatterType.PUBLIC_SERVICE), "basic_code")
    assert problems == ["基本编码前两位 01（行政许可）与事项类型 20（公共服务）不一致"]


def test_working_days_convert_to_natural_days_by_whole_weeks() -> None:
    assert natural_days(TimeLimit(amount=5, unit=TimeUnit.WORKING_DAY)) == 7
    assert natural_days(TimeLimit(amount=12, unit=TimeUnit.WORKING_DAY)) == 16
    assert natural_days(TimeLimit(amount=1, unit=TimeUnit.MONTH)) == 30


def test_a_promise_longer_than_the_law_is_reported_after_conversion() -> None:
    # 20 working days are 28 natural days: longer than the 20 natural days the law allows.
    matter = food_license(
        legal_limit=TimeLimit(amount=20, unit=TimeUnit.NATURAL_DAY),
        promised_limit=TimeLimit(amount=20, unit=TimeUnit.WORKING_DAY),
    )
    assert messages(matter, "promised_limit") == [
        "承诺办结时限 20 工作日（约 28 个自然日）长于法定办结时限 20 自然日（约 20 个自然日）"
    ]
    # 14 working days = 18 natural days fit in 20 natural days.
    ok = matter.model_copy(update={"promised_limit": TimeLimit(amount=14)})
    assert messages(ok, "promised_limit") == []


def test_a_path_with_no_materials_is_reported() -> None:
    bare = food_license(
        base_materials=(),
        questions=(
            Question(
                key="q_site",
                text="经营场所是自有还是租赁？",
                options=(
                    Option(key="own", label="自有"),
                    Option(key="rent", label="租赁", add_materials=("lease",)),
                ),
            ),
        ),
        root=("q_site",),
    )
    problems = messages(bare, "questions.q_site.options.own")
    assert problems == ["情形路径“经营场所是自有还是租赁？：自有”没有任何材料"]
    assert messages(bare, "questions.q_site.options.rent") == []


def test_an_unreachable_question_is_reported() -> None:
    matter = food_license(root=("q_site",))
    assert messages(matter, "questions.q_agent") == [
        "问题“是否委托他人办理？”在任何情形路径中都不会被问到"
    ]


def test_an_undefined_material_key_is_reported() -> None:
    matter = food_license(base_materials=("application", "id_card"))
    assert messages(matter, "base_materials[1]") == ["基本材料引用了未定义的材料 id_card"]
    q = food_license().questions[0]
    bad_option = q.options[0].model_copy(update={"add_materials": ("ghost",)})
    question = q.model_copy(update={"options": (bad_option, q.options[1])})
    matter = food_license(questions=(question, food_license().questions[1]))
    assert messages(matter, "questions.q_site.options.own.add_materials[0]") == [
        "问题“经营场所是自有还是租赁？”的选项“自有”增加了未定义的材料 ghost"
    ]


def test_missing_required_elements_are_errors_and_an_unused_material_a_warning() -> None:
    matter = food_license(
        legal_basis="",
        legal_limit=None,
        materials=(*food_license().materials, Material(key="extra", name="其他材料")),
    )
    problems = {p.path: p for p in check_matter(matter)}
    assert problems["legal_basis"].message == "缺少必备要素“设定依据”"
    assert problems["legal_limit"].severity == Severity.ERROR
    assert problems["materials[5]"].severity == Severity.WARNING
    report = check_library(Library(matters=(matter,)))
    assert report.errors == 2
    assert report.complete_matters == 0
