"""智能导办: the question-and-answer walk over a matter's situation tree, and
the checklist it ends with, as plain data and plain Chinese.

No web and no database here: the mobile page, the window's screen and the
Kivy kiosk all drive the same functions. A walk is a matter plus the answers
so far (question key → option key); `step` says what to show next: the next
question, or the finished checklist with its materials, conditions, time
limit and fee already worded for citizens.

Answers travel in URLs and kiosk state as ``question:option`` strings
(`encode_answers`, `decode_answers`); answers that no longer lie on the path
(the citizen went back and changed an earlier answer) are dropped, so a
checklist never depends on a question the citizen was not asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from central.matters.schema import (
    CaseKind,
    Fee,
    Material,
    MaterialSource,
    Matter,
    Necessity,
    Option,
    Question,
    TimeLimit,
    TimeUnit,
)
from central.matters.situations import AnswerError, Checklist, checklist, next_question

__all__ = [
    "AnswerError",
    "Answered",
    "ChecklistView",
    "MaterialLine",
    "Step",
    "answer",
    "decode_answers",
    "encode_answers",
    "fee_text",
    "limit_text",
    "step",
]

NECESSITY_NOTES: Final = {
    Necessity.REQUIRED: "必要",
    Necessity.OPTIONAL: "非必要",
    Necessity.DEFERRABLE: "容缺后补",
}


@dataclass(frozen=True)
class Answered:
    """A question already answered, for the “您的情况” summary and going back."""

    question: Question
    option: Option
    back: dict[str, str]  # the answers before this question: asking it again


@dataclass(frozen=True)
class MaterialLine:
    """One material as a citizen reads it."""

    name: str
    kind: str  # 原件 / 复印件 / …
    form: str  # 纸质 / 电子 / …
    copies: str  # “1 份”
    necessity: str  # 必要 / 非必要 / 容缺后补
    deferrable: bool
    source: str  # 申请人自备, or the issuing office
    spec: str
    notes: str


@dataclass(frozen=True)
class ChecklistView:
    checklist: Checklist
    materials: tuple[MaterialLine, ...]
    conditions: tuple[str, ...]
    time_limit: str
    fee: str
    visits: str
    online: bool

    @property
    def required_count(self) -> int:
        return sum(1 for m in self.materials if m.necessity == NECESSITY_NOTES[Necessity.REQUIRED])


@dataclass(frozen=True)
class Step:
    """What to show now: a question (``question`` set) or the checklist."""

    matter: Matter
    answers: dict[str, str]  # on the path only, in asking order
    answered: tuple[Answered, ...]
    question: Question | None
    view: ChecklistView | None

    @property
    def done(self) -> bool:
        return self.question is None

    @property
    def number(self) -> int:
        """1-based number of the question being asked (or of the last one)."""
        return len(self.answered) + (0 if self.done else 1)


# --- wording ---------------------------------------------------------------------------------


def limit_text(limit: TimeLimit | None, case_kind: CaseKind = CaseKind.PROMISED) -> str:
    """承诺办结时限 in a sentence: “当场办结”, “5 个工作日内办结”."""
    if case_kind == CaseKind.IMMEDIATE and (limit is None or limit.amount == 0):
        return "即办件，材料齐全当场办结"
    if limit is None:
        return "请咨询窗口工作人员"
    if limit.amount == 0:
        return "当场办结"
    unit = {
        TimeUnit.WORKING_DAY: "个工作日",
        TimeUnit.NATURAL_DAY: "天（自然日）",
        TimeUnit.MONTH: "个月",
        TimeUnit.YEAR: "年",
    }[limit.unit]
    return f"{limit.amount} {unit}内办结"


def fee_text(fee: Fee) -> str:
    if not fee.charged:
        return "不收费"
    return f"收费：{fee.description}" if fee.description else "收费（标准请咨询窗口）"


def _source(material: Material) -> str:
    if material.source_note:
        return material.source_note
    return material.source.value if material.source != MaterialSource.OTHER else "其他渠道"


def material_line(material: Material) -> MaterialLine:
    notes = material.fill_notes or material.acceptance_standard
    return MaterialLine(
        name=material.name,
        kind=material.kind.value,
        form=material.form.value,
        copies=f"{material.copies} 份",
        necessity=NECESSITY_NOTES[material.necessity],
        deferrable=material.necessity == Necessity.DEFERRABLE,
        source=_source(material),
        spec=material.spec,
        notes=notes,
    )


def checklist_view(found: Checklist) -> ChecklistView:
    matter = found.matter
    visits = "全程网办，无需到现场" if matter.visits == 0 else f"最多跑 {matter.visits} 次"
    return ChecklistView(
        checklist=found,
        materials=tuple(material_line(m) for m in found.materials),
        conditions=found.conditions,
        time_limit=limit_text(found.promised_limit, matter.case_kind),
        fee=fee_text(found.fee),
        visits=visits,
        online=matter.online,
    )


# --- walking ---------------------------------------------------------------------------------


def step(matter: Matter, answers: Mapping[str, str]) -> Step:
    """Where a walk stands after `answers`; raises `AnswerError` for an
    answer that names a question or option the matter does not have."""
    found = checklist(matter, answers)
    on_path = {q.key: o.key for q, o in found.answers}
    question = next_question(matter, on_path)
    answered: list[Answered] = []
    before: dict[str, str] = {}
    for q, o in found.answers:
        answered.append(Answered(q, o, dict(before)))
        before[q.key] = o.key
    return Step(
        matter=matter,
        answers=on_path,
        answered=tuple(answered),
        question=question,
        view=checklist_view(found) if question is None else None,
    )


def answer(matter: Matter, answers: Mapping[str, str], question: str, option: str) -> Step:
    """Answer one question; later answers that depended on it are dropped."""
    current = step(matter, answers)
    kept: dict[str, str] = {}
    for a in current.answered:
        if a.question.key == question:
            break
        kept[a.question.key] = a.option.key
    kept[question] = option
    return step(matter, kept)


def encode_answers(answers: Mapping[str, str]) -> list[str]:
    return [f"{q}:{o}" for q, o in answers.items()]


def decode_answers(values: Iterable[str]) -> dict[str, str]:
    """``question:option`` strings to answers; malformed ones are ignored."""
    out: dict[str, str] = {}
    for value in values:
        q, sep, o = value.partition(":")
        if sep and q and o:
            out[q] = o
    return out
