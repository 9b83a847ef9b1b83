"""Recall@k of 智能问答 on a labelled question set.

The set is a YAML list of ``{q: question text, expect: [matter_key, ...]}``
(tests/guidance/questions.yaml); a question is a hit when any expected key is
among the first k matters the search returns. A question whose ``expect`` is
empty has no matching matter in the library: it does not count towards
recall; the report says how many of those got no matter at all (the search
said so instead of guessing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from central.guidance.search import GuideIndex


@dataclass(frozen=True)
class Labelled:
    q: str
    expect: tuple[str, ...]


@dataclass(frozen=True)
class Miss:
    q: str
    expect: tuple[str, ...]
    got: tuple[str, ...]


@dataclass(frozen=True)
class RecallReport:
    k: int
    total: int
    hits: int
    misses: tuple[Miss, ...] = field(default=())
    unknown: tuple[str, ...] = field(default=())  # expected keys the library lacks
    unanswerable: int = 0  # questions without any matching matter
    abstained: int = 0  # of those, how many got no matter at all

    @property
    def recall(self) -> float:
        return self.hits / self.total if self.total else 0.0

    def text(self) -> str:
        lines = [f"recall@{self.k} = {self.recall:.3f}（命中 {self.hits} / {self.total}）"]
        for m in self.misses:
            lines.append(
                f"未命中：{m.q}  期望 {', '.join(m.expect)}  实得 {', '.join(m.got) or '无'}"
            )
        if self.unanswerable:
            lines.append(
                f"无对应事项的问题 {self.unanswerable} 个，其中 {self.abstained} 个未给出事项"
            )
        if self.unknown:
            lines.append(f"事项库中没有的期望事项：{', '.join(self.unknown)}")
        return "\n".join(lines)


def load_questions(path: Path) -> list[Labelled]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a list of {{q, expect}}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "q" not in item or "expect" not in item:
            raise ValueError(f"{path}: entry {i + 1} needs q and expect")
        expect = item["expect"]
        if expect is None:
            expect = []
        keys = (expect,) if isinstance(expect, str) else tuple(str(k) for k in expect)
        out.append(Labelled(str(item["q"]), keys))
    return out


def recall_at(index: GuideIndex, questions: Sequence[Labelled], *, k: int = 3) -> RecallReport:
    hits = 0
    misses = []
    unanswerable = abstained = 0
    for item in questions:
        got = tuple(index.ask(item.q, limit=k).keys[:k])
        if not item.expect:
            unanswerable += 1
            abstained += not got
            continue
        if set(got) & set(item.expect):
            hits += 1
        else:
            misses.append(Miss(item.q, item.expect, got))
    wanted = {key for item in questions for key in item.expect}
    unknown = tuple(sorted(wanted - set(index.by_key)))
    return RecallReport(
        k=k,
        total=len(questions) - unanswerable,
        hits=hits,
        misses=tuple(misses),
        unknown=unknown,
        unanswerable=unanswerable,
        abstained=abstained,
    )
