"""智能问答: Chinese questions, pinyin from the kiosk keyboard, synonyms, FAQs."""

from __future__ import annotations

import pytest

from central.guidance.search import GuideIndex, index_for, tokens
from central.matters.schema import Library
from tests.guidance.library import FUND, small_library


@pytest.fixture(scope="module")
def index() -> GuideIndex:
    return GuideIndex(small_library())


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("gtgsh", "individual_setup"),  # initials of 个体工商户
        ("getihu", "individual_setup"),  # full pinyin of the keyword 个体户
        ("GeTi GongShang", "individual_setup"),  # upper case and spaces from the keyboard
        ("gjj", "fund_withdraw"),
        ("zhufanggongjijin", "fund_withdraw"),
        ("sfz", "id_card_lost"),
    ],
)
def test_pinyin_and_initials_find_the_matter(index: GuideIndex, query: str, first: str) -> None:
    answer = index.ask(query)
    assert answer.mode == "pinyin"
    assert answer.keys[0] == first


def test_pinyin_of_a_synonym_word_finds_the_matters_it_stands_for(index: GuideIndex) -> None:
    assert index.ask("kaifandian").keys[0] == "food_license"


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("我想办个体户营业执照", "individual_setup"),
        ("身份证丢了怎么办", "id_card_lost"),
        ("公积金怎么取出来", "fund_withdraw"),
        ("小吃店要什么手续", "food_license"),
    ],
)
def test_plain_questions_find_the_matter(index: GuideIndex, query: str, first: str) -> None:
    answer = index.ask(query)
    assert answer.mode == "text"
    assert answer.keys[0] == first


def test_a_synonym_turns_a_citizens_words_into_the_official_ones(index: GuideIndex) -> None:
    answer = index.ask("开饭店要办什么证")
    # 开饭店 is only in the synonym list (→ 餐饮), and in one FAQ.
    assert set(answer.keys[:2]) == {"food_license", "individual_setup"}
    assert "餐饮" in answer.words
    assert [f.faq.key for f in answer.faqs] == ["restaurant"]


def test_a_question_only_an_faq_answers_shows_the_faq(index: GuideIndex) -> None:
    answer = index.ask("周末上班吗")
    assert [f.faq.key for f in answer.faqs] == ["hours"]
    assert answer.matters == ()


def test_material_names_weigh_less_than_matter_names(index: GuideIndex) -> None:
    # 身份证 is a material of 个体工商户设立登记 but the subject of 居民身份证挂失补领.
    assert index.ask("身份证").keys[0] == "id_card_lost"


def test_nothing_found_and_empty_questions_answer_nothing(index: GuideIndex) -> None:
    assert index.ask("   ").mode == "empty"
    assert index.ask("量子计算机").matters == ()
    assert index.ask("xyzzyq").matters == ()


def test_question_words_are_not_searched() -> None:
    assert tokens("我想问一下怎么办理公积金") == ["公积", "积金", "公积金"]


def test_the_index_is_built_once_per_library_content() -> None:
    first = index_for(small_library())
    assert index_for(small_library()) is first
    changed = small_library().model_copy(update={"matters": (FUND,)})
    assert index_for(changed) is not first
    assert index_for(changed).ask("个体户").keys == []


def test_an_empty_library_answers_without_failing() -> None:
    assert GuideIndex(Library()).ask("营业执照").matters == ()
    assert GuideIndex(Library()).ask("yyzz").matters == ()
