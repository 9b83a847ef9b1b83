"""Walking a matter's situation tree (情形): the next question, the checklist
of a set of answers, and every possible path (for the completeness check and
the checklist preview in the admin web).

Order of questions: the ``root`` questions in order; an answer's ``next``
questions are asked right after it (depth first), so follow-ups stay beside
the answer that raised them. A question is asked at most once per path, which
also makes a cycle in a badly edited tree harmless.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from central.matters.schema import Fee, Material, Matter, Option, Question, TimeLimit

# A library with a combinatorial tree would make enumeration explode; halls
# keep trees to a handful of questions, so a cap only guards against mistakes.
MAX_PATHS = 4096


class AnswerError(ValueError):
    """An answer names a question or option the matter does not have."""


@dataclass(frozen=True)
class Checklist:
    """What a citizen on one path needs to bring and can expect."""

    matter: Matter
    answers: tuple[tuple[Question, Option], ...]
    materials: tuple[Material, ...]
    conditions: tuple[str, ...]
    fee: Fee
    promised_limit: TimeLimit | None
    missing_materials: tuple[str, ...] = field(default=())  # keys named but not defined


def _questions(matter: Matter) -> dict[str, Question]:
    return {q.key: q for q in matter.questions}


def _option(question: Question, key: str) -> Option:
    for option in question.options:
        if option.key == key:
            return option
    raise AnswerError(f"问题“{question.text}”没有选项 {key}")


def _walk(
    matter: Matter, answers: Mapping[str, str]
) -> tuple[list[tuple[Question, Option]], Question | None]:
    """The answered path in asking order, and the first unanswered question."""
    questions = _questions(matter)
    for key in answers:
        if key not in questions:
            raise AnswerError(f"事项“{matter.name}”没有问题 {key}")
    pending = list(matter.root)
    asked: set[str] = set()
    path: list[tuple[Question, Option]] = []
    while pending:
        key = pending.pop(0)
        if key in asked or key not in questions:
            continue
        asked.add(key)
        question = questions[key]
        if key not in answers:
            return path, question
        option = _option(question, answers[key])
        path.append((question, option))
        pending[:0] = option.next
    return path, None


def next_question(matter: Matter, answers: Mapping[str, str]) -> Question | None:
    """The next question to ask, or None when the answers are complete."""
    return _walk(matter, answers)[1]


def checklist(matter: Matter, answers: Mapping[str, str]) -> Checklist:
    """The checklist for the answers given so far (complete once
    `next_question` is None). Materials keep the order of the matter's list."""
    path, _ = _walk(matter, answers)
    wanted = set(matter.base_materials)
    conditions = list(matter.conditions)
    fee, limit = matter.fee, matter.promised_limit
    for _question, option in path:
        wanted |= set(option.add_materials)
        wanted -= set(option.remove_materials)
        conditions.extend(c for c in option.add_conditions if c not in conditions)
        fee = option.fee or fee
        limit = option.promised_limit or limit
    defined = {m.key for m in matter.materials}
    return Checklist(
        matter=matter,
        answers=tuple(path),
        materials=tuple(m for m in matter.materials if m.key in wanted),
        conditions=tuple(conditions),
        fee=fee,
        promised_limit=limit,
        missing_materials=tuple(sorted(wanted - defined)),
    )


def paths(matter: Matter) -> Iterator[dict[str, str]]:
    """Every complete set of answers, in a stable order (at most MAX_PATHS)."""
    count = 0
    stack: list[dict[str, str]] = [{}]
    while stack:
        answers = stack.pop()
        question = next_question(matter, answers)
        if question is None:
            yield answers
            count += 1
            if count >= MAX_PATHS:
                return
            continue
        for option in reversed(question.options):
            stack.append({**answers, question.key: option.key})


def reachable_questions(matter: Matter) -> set[str]:
    """Keys of the questions some path asks."""
    seen: set[str] = set()
    for answers in paths(matter):
        seen.update(answers)
    return seen
