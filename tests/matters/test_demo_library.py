"""The demo matter library (central/matters/demo_library.json) and the labelled
guidance question set (tests/guidance/questions.yaml) stay loadable and
internally consistent: codes with valid check digits, queues that exist in the
demo hall, situation trees whose every path yields a checklist."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from central.matters.schema import Library, MaterialSource, Matter
from central.matters.situations import checklist, paths, reachable_questions

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "central" / "matters" / "demo_library.json"
HALL = ROOT / "central" / "queueing" / "demo_hall.yaml"
QUESTIONS = ROOT / "tests" / "guidance" / "questions.yaml"

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]


@cache
def library() -> Library:
    return Library.model_validate_json(LIBRARY.read_text(encoding="utf-8"))


def matter_ids() -> list[str]:
    return [m.key for m in library().matters]


def by_key(key: str) -> Matter:
    return next(m for m in library().matters if m.key == key)


def uscc_ok(code: str) -> bool:
    if len(code) != 18 or any(c not in USCC_CHARSET for c in code):
        return False
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31] == code[17]


def test_uscc_check_digit_known_values() -> None:
    # computed by hand from the GB 32100-2015 weights
    assert uscc_ok("91350100M000100Y43")
    assert not uscc_ok("91350100M000100Y44")


def test_library_is_demo_and_large_enough() -> None:
    lib = library()
    assert lib.demo is True
    assert len(lib.matters) >= 32
    assert len({m.key for m in lib.matters}) == len(lib.matters)
    assert sum(1 for m in lib.matters if m.questions) >= 20
    assert len(lib.faqs) >= 20
    assert len({f.key for f in lib.faqs}) == len(lib.faqs)
    assert len(lib.synonyms) >= 30


@pytest.mark.parametrize("key", matter_ids())
def test_codes(key: str) -> None:
    m = by_key(key)
    assert re.fullmatch(r"\d{12}", m.basic_code)
    assert m.basic_code[:2] == m.matter_type.value
    assert uscc_ok(m.authority_credit_code), m.authority_credit_code
    assert len(m.implementation_code) == 31
    assert m.implementation_code[:12] == m.basic_code
    assert m.implementation_code[12:30] == m.authority_credit_code
    assert m.implementation_code[30].isdigit()
    assert len(m.handling_code) == 33
    assert m.handling_code.startswith(m.implementation_code)
    assert re.fullmatch(r"\d\d", m.handling_code[31:])
    assert m.handling_code[31:] != "00"


def test_handling_codes_unique() -> None:
    codes = [m.handling_code for m in library().matters]
    assert len(set(codes)) == len(codes)


def test_one_credit_code_per_authority() -> None:
    seen: dict[str, str] = {}
    for m in library().matters:
        assert seen.setdefault(m.authority, m.authority_credit_code) == m.authority_credit_code


@pytest.mark.parametrize("key", matter_ids())
def test_elements_filled(key: str) -> None:
    m = by_key(key)
    for field in (
        "name",
        "legal_basis",
        "authority",
        "audience",
        "location",
        "hours",
        "consultation",
        "complaint",
        "result_name",
        "service",
    ):
        assert getattr(m, field), field
    assert m.conditions
    assert len(m.procedure) >= 5
    assert m.legal_limit is not None
    assert m.promised_limit is not None
    if m.legal_limit.unit == m.promised_limit.unit:
        assert m.promised_limit.amount <= m.legal_limit.amount
    assert "12345" in m.complaint
    assert re.search(r"029-8\d{7}|12366", m.consultation)
    assert m.keywords
    assert m.daily_bookings > 0 if m.bookable else m.daily_bookings == 0
    assert m.fee.charged == bool(m.fee.basis)
    assert 5 <= len(m.materials) <= 12
    assert len({x.key for x in m.materials}) == len(m.materials)
    for mat in m.materials:
        assert mat.fill_notes, mat.key
        assert mat.acceptance_standard, mat.key
        assert mat.basis, mat.key
        if mat.source is MaterialSource.GOVERNMENT:
            assert mat.source_note, mat.key


@pytest.mark.parametrize("key", matter_ids())
def test_situation_paths(key: str) -> None:
    m = by_key(key)
    defined = {x.key for x in m.materials}
    assert set(m.base_materials) <= defined
    referenced = set(m.base_materials)
    question_keys = [q.key for q in m.questions]
    assert len(set(question_keys)) == len(question_keys)
    assert set(m.root) <= set(question_keys)
    for q in m.questions:
        assert len({o.key for o in q.options}) == len(q.options)
        for o in q.options:
            assert set(o.add_materials) <= defined
            assert set(o.remove_materials) <= defined
            assert set(o.next) <= set(question_keys)
            referenced |= set(o.add_materials)
            if o.promised_limit and m.legal_limit and o.promised_limit.unit == m.legal_limit.unit:
                assert o.promised_limit.amount <= m.legal_limit.amount
    # every defined material is needed on some path
    assert referenced == defined, defined - referenced
    all_paths = list(paths(m))
    assert all_paths
    used: set[str] = set()
    for answers in all_paths:
        result = checklist(m, answers)
        assert result.materials, answers
        assert not result.missing_materials, answers
        used |= {x.key for x in result.materials}
    assert used == defined, defined - used
    assert reachable_questions(m) == set(question_keys)


def test_services_exist_in_demo_hall() -> None:
    hall = yaml.safe_load(HALL.read_text(encoding="utf-8"))
    services = {s["code"] for s in hall["services"]}
    for m in library().matters:
        assert m.service in services, (m.key, m.service)


def test_faqs_and_synonyms_point_at_matters() -> None:
    lib = library()
    keys = {m.key for m in lib.matters}
    for f in lib.faqs:
        assert set(f.matters) <= keys, f.key
    # a synonym expands a citizen's word to words the matters are found by
    words = " ".join(m.name + " " + " ".join(m.keywords) for m in lib.matters)
    for word, targets in lib.synonyms.items():
        assert targets, word
        assert any(target in m.name for m in lib.matters for target in targets), word
        for target in targets:
            assert target in words, (word, target)


def test_question_set_labels_exist() -> None:
    items = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    assert isinstance(items, list)
    assert len(items) >= 120
    keys = {m.key for m in library().matters}
    texts = [item["q"] for item in items]
    assert len(set(texts)) == len(texts)
    for item in items:
        assert set(item) <= {"q", "expect", "note"}, item
        assert isinstance(item["q"], str)
        assert item["q"].strip()
        assert set(item["expect"]) <= keys, item
    # questions with no matching matter are labelled with an empty expect list
    assert sum(1 for item in items if not item["expect"]) >= 5


def test_completeness_check_finds_nothing() -> None:
    from central.matters.completeness import check_library

    hall = yaml.safe_load(HALL.read_text(encoding="utf-8"))
    report = check_library(library(), service_codes=[s["code"] for s in hall["services"]])
    assert not report.problems, report.problems
