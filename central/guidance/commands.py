"""What `anxin guide ask` and `anxin guide recall` do.

Both search the published library of the hall's database, or a library JSON
file given with ``--library`` (the demo library, an export), so the search can
be tried and tuned without a running hub.
"""

from __future__ import annotations

from pathlib import Path

from anxin.settings import Settings
from central.guidance.recall import RecallReport, load_questions, recall_at
from central.guidance.search import GuideIndex
from central.matters.schema import Library


def load_library(settings: Settings, library: Path | None) -> Library:
    if library is not None:
        return Library.model_validate_json(library.read_text(encoding="utf-8"))
    from central.matters.service import published_library
    from central.queueing.admin import cli_session

    with cli_session(settings) as session:
        return published_library(session)


def ask_text(index: GuideIndex, text: str, *, limit: int = 5) -> str:
    answer = index.ask(text, limit=limit)
    lines = [f"问：{text}（{'拼音' if answer.mode == 'pinyin' else '文字'}检索）"]
    if answer.words and answer.mode == "text":
        lines.append(f"检索词：{' '.join(answer.words)}")
    for n, hit in enumerate(answer.matters, 1):
        lines.append(f"{n}. {hit.matter.name}  [{hit.matter.key}]  得分 {hit.score:.2f}")
    if not answer.matters:
        lines.append("没有找到相关事项")
    for faq in answer.faqs:
        lines.append(f"常见问题：{faq.faq.question} —— {faq.faq.answer}")
    return "\n".join(lines)


def recall_report(index: GuideIndex, questions: Path, *, k: int = 3) -> RecallReport:
    return recall_at(index, load_questions(questions), k=k)
