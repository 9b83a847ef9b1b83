"""智能导办 walk: questions in order, the exact checklist, Chinese wording."""

from __future__ import annotations

import pytest

from central.guidance.flow import (
    AnswerError,
    answer,
    decode_answers,
    encode_answers,
    fee_text,
    limit_text,
    step,
)
from central.matters.schema import CaseKind, Fee, TimeLimit, TimeUnit
from tests.guidance.library import FUND, ID_CARD, INDIVIDUAL


def _walk(answers: list[tuple[str, str]]) -> list[str]:
    """Question keys asked when answering in this order."""
    asked = []
    given: dict[str, str] = {}
    for q, o in answers:
        current = step(INDIVIDUAL, given)
        assert current.question is not None
        asked.append(current.question.key)
        assert current.question.key == q
        given = answer(INDIVIDUAL, given, q, o).answers
    assert step(INDIVIDUAL, given).done
    return asked


def test_root_questions_come_first_and_a_follow_up_right_after_its_answer() -> None:
    assert _walk([("who", "self"), ("place", "own")]) == ["who", "place"]
    assert _walk([("who", "agent"), ("place", "rent"), ("filed", "no")]) == [
        "who",
        "place",
        "filed",
    ]


def test_first_step_asks_question_one_and_shows_no_checklist() -> None:
    first = step(INDIVIDUAL, {})
    assert first.question is not None
    assert first.question.text == "是您本人来办吗？"
    assert first.number == 1
    assert first.view is None
    assert [o.label for o in first.question.options] == ["是，我本人办", "不是，帮别人办"]


def test_checklist_of_an_agent_renting_the_shop_lists_exactly_what_that_path_needs() -> None:
    done = step(INDIVIDUAL, {"who": "agent", "place": "rent", "filed": "yes"})
    assert done.done
    assert done.view is not None
    names = [m.name for m in done.view.materials]
    assert names == [
        "经营者身份证",
        "个体工商户登记申请书",
        "授权委托书",
        "代理人身份证",
        "房屋租赁合同",
        "租赁备案证明",
    ]
    lease = done.view.materials[4]
    assert (lease.kind, lease.copies, lease.necessity) == ("复印件", "2 份", "必要")
    filed = done.view.materials[5]
    assert filed.necessity == "容缺后补"
    assert filed.deferrable
    assert done.view.materials[1].source == "窗口领取或网上下载"
    assert done.view.conditions == (
        "经营者具有完全民事行为能力",
        "代理人须持经营者签字的授权委托书",
    )
    assert done.view.time_limit == "1 个工作日内办结"
    assert done.view.fee == "不收费"


def test_own_premises_need_the_deed_and_not_the_lease() -> None:
    done = step(INDIVIDUAL, {"who": "self", "place": "own"})
    assert done.view is not None
    names = [m.name for m in done.view.materials]
    assert "房屋产权证明" in names
    assert "房屋租赁合同" not in names
    assert "授权委托书" not in names
    deed = next(m for m in done.view.materials if m.name == "房屋产权证明")
    assert deed.source == "不动产登记部门核发"


def test_an_answer_can_change_the_promised_time_limit_and_add_a_condition() -> None:
    done = step(INDIVIDUAL, {"who": "self", "place": "rent", "filed": "no"})
    assert done.view is not None
    assert done.view.time_limit == "3 个工作日内办结"
    assert "租赁合同未备案的，可先容缺受理，5个工作日内补交" in done.view.conditions


def test_changing_an_earlier_answer_drops_the_follow_ups_it_raised() -> None:
    answers = {"who": "self", "place": "rent", "filed": "yes"}
    changed = answer(INDIVIDUAL, answers, "place", "own")
    assert changed.answers == {"who": "self", "place": "own"}
    assert changed.done
    # Going back to question 1 forgets everything after it.
    again = answer(INDIVIDUAL, answers, "who", "agent")
    assert again.answers == {"who": "agent"}
    assert again.question is not None
    assert again.question.key == "place"


def test_answers_off_the_path_are_dropped_and_back_links_return_to_a_question() -> None:
    current = step(INDIVIDUAL, {"who": "self", "place": "own", "filed": "yes"})
    assert current.answers == {"who": "self", "place": "own"}
    assert [a.back for a in current.answered] == [{}, {"who": "self"}]


def test_unknown_answers_are_refused() -> None:
    with pytest.raises(AnswerError):
        step(INDIVIDUAL, {"who": "maybe"})
    with pytest.raises(AnswerError):
        step(INDIVIDUAL, {"colour": "red"})


def test_answers_survive_a_url_round_trip_and_junk_is_ignored() -> None:
    answers = {"who": "agent", "place": "rent"}
    assert decode_answers(encode_answers(answers)) == answers
    assert decode_answers(["who:self", "garbage", ":x", "place:"]) == {"who": "self"}


def test_a_matter_without_questions_goes_straight_to_its_checklist() -> None:
    done = step(ID_CARD, {})
    assert done.done
    assert done.view is not None
    assert done.view.fee == "收费：每证20元"
    assert done.view.time_limit == "即办件，材料齐全当场办结"
    assert step(FUND, {}).number == 0


def test_time_limit_and_fee_wording() -> None:
    assert limit_text(None) == "请咨询窗口工作人员"
    assert limit_text(TimeLimit(amount=0)) == "当场办结"
    assert limit_text(TimeLimit(amount=20, unit=TimeUnit.NATURAL_DAY)) == "20 天（自然日）内办结"
    assert limit_text(TimeLimit(amount=2), CaseKind.IMMEDIATE) == "2 个工作日内办结"
    assert fee_text(Fee(charged=True)) == "收费（标准请咨询窗口）"
