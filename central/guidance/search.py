"""智能问答: free-text questions in Chinese, or pinyin from the kiosk keyboard,
answered with ranked matters and FAQ entries.

Text questions (“开饭店要办什么证”) are segmented with jieba (search mode, so
“营业执照” also yields “营业” and “执照”), question words (怎么, 什么, 需要, …)
dropped, and expanded with the library's synonym groups: a synonym entry
``word -> (alt, …)`` is a group, and when any member appears in the question
every member is added. Matters are ranked by a weighted sum of BM25 scores
(rank_bm25 `BM25Okapi` with Lucene's always-positive idf) over separate fields:

======================  ======  ==========================================
field                   weight  content
======================  ======  ==========================================
name                    3.0     事项名称
keywords                2.5     keywords (别名) and the result name (营业执照)
materials               0.6     material names (weighted lower: a question
                                naming 身份证 is rarely about the ID card)
characters              0.3     single characters of name and keywords, a
                                fallback for words jieba cuts differently
======================  ======  ==========================================

FAQ entries are ranked the same way over their question (2.0) and answer
(0.5); a matching FAQ also lifts the matters it points to (half its score).
Only documents sharing a word with the question are scored, so a query costs
about the same for 30 or 2,000 matters.

Pinyin (the query is ASCII letters only): full pinyin (“getihu”) or initials
(“gtgsh”) are matched against matter names, keywords and synonym words:
exact before prefix before substring, shorter terms first. A synonym word
matched by pinyin is searched as text. Space-separated parts (“getihu
zhizhao”) are also matched one by one and their scores added.

jieba: one private `jieba.Tokenizer` for the process (not jieba's global
one), initialised quietly at the first index build; every index build adds
its library's matter names, keywords and synonym words to it. Words added for
one library stay for the next, which only makes segmentation of those words
coarser; search mode still yields their parts.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import jieba
from pypinyin import Style, lazy_pinyin
from rank_bm25 import BM25Okapi

from central.matters.schema import Faq, Library, Matter

log = logging.getLogger(__name__)

MATTER_FIELDS: Final = {"name": 3.0, "keywords": 2.5, "materials": 0.6}
CHAR_WEIGHT: Final = 0.3
FAQ_FIELDS: Final = {"question": 2.0, "answer": 0.5}
FAQ_LIFT: Final = 0.5
# Hits scoring below this share of the best one are noise, not answers.
MIN_SHARE: Final = 0.15
FAQ_MIN_SHARE: Final = 0.4

# Question words and particles: frequent in questions, meaningless for ranking.
_STOP_LINES: Final = (
    "我 我们 你 您 他 她 它 要 想 想要 需要 需 应该 应 该 怎么 怎样 怎么样 如何 什么 啥 哪些 哪个",
    "哪里 哪儿 怎么办 咋 咋办 在 去 到 来 办 办理 的 地 得 了 吗 呢 啊 吧 么 呀 嘛 是 有 和 与 及",
    "或 给 把 被 可以 能 能不能 可不可以 一下 请问 请 个 都 还 也 就 又 这 那 这个 那个 些 一个",
    "多少 几 怎 没 没有 带 准备 材料 手续 流程 需要带 要带 办事 咨询 问 问下 现在 今天",
)
STOPWORDS: Final = frozenset(w for line in _STOP_LINES for w in line.split())

_ASCII_QUERY: Final = re.compile(r"[a-z' ]+")
_SPLIT: Final = re.compile(r"[\s,，。、；;：:！!？?（）()《》“”\"'·/\\\-—_]+")


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, trimmed."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def library_hash(library: Library) -> str:
    """A stable digest of the library's content (the index cache key)."""
    return hashlib.sha256(library.model_dump_json().encode()).hexdigest()


# --- jieba -------------------------------------------------------------------------------

_tokenizer: Any = None
_tokenizer_lock = threading.Lock()


def _jieba() -> Any:
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
        return _tokenizer


def _add_words(words: Iterable[str]) -> None:
    tokenizer = _jieba()
    with _tokenizer_lock:
        for word in words:
            word = normalize(word)
            if 2 <= len(word) <= 12 and not _ASCII_QUERY.fullmatch(word):
                tokenizer.add_word(word)


def tokens(text: str) -> list[str]:
    """Search-mode words of `text` without question words and punctuation."""
    out: list[str] = []
    for part in _SPLIT.split(normalize(text)):
        if not part:
            continue
        for word in _jieba().cut_for_search(part):
            word = word.strip()
            if word and word not in STOPWORDS:
                out.append(word)
    return out


def _chars(text: str) -> list[str]:
    return [c for c in normalize(text) if "\u4e00" <= c <= "\u9fff"]


# --- pinyin ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PinyinTerm:
    text: str
    full: str
    initials: str
    matter: int | None  # index into the matters; None for a synonym word
    weight: float


def _pinyin_forms(text: str) -> tuple[str, str]:
    cleaned = "".join(c for c in normalize(text) if c.isalnum())
    full = "".join(lazy_pinyin(cleaned, errors="ignore"))
    initials = "".join(lazy_pinyin(cleaned, style=Style.FIRST_LETTER, errors="ignore"))
    return full, initials


def _pinyin_quality(query: str, term: _PinyinTerm) -> float:
    best = 0.0
    for form in (term.full, term.initials):
        if not form:
            continue
        if form == query:
            best = max(best, 1.0)
        elif form.startswith(query):
            best = max(best, 0.8)
        elif len(query) >= 2 and query in form:
            best = max(best, 0.6)
    return best


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatterHit:
    matter: Matter
    score: float


@dataclass(frozen=True)
class FaqHit:
    faq: Faq
    score: float


@dataclass(frozen=True)
class Answer:
    query: str
    mode: Literal["text", "pinyin", "empty"]
    words: tuple[str, ...]  # the words searched for (after synonym expansion)
    matters: tuple[MatterHit, ...]
    faqs: tuple[FaqHit, ...]

    @property
    def keys(self) -> list[str]:
        return [h.matter.key for h in self.matters]


# --- the index ----------------------------------------------------------------------------------


class _LuceneBM25(BM25Okapi):  # type: ignore[misc]
    """BM25Okapi with Lucene's idf, log(1 + (N - n + .5) / (n + .5)): never zero
    or negative, so a word in half of a small corpus (two FAQs) still counts."""

    def _calc_idf(self, nd: dict[str, int]) -> None:
        n = self.corpus_size
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in nd.items()}


class _Field:
    """BM25 over one field, scoring only the documents a word names."""

    def __init__(self, docs: Sequence[list[str]]) -> None:
        self.postings: dict[str, set[int]] = {}
        for i, doc in enumerate(docs):
            for word in doc:
                self.postings.setdefault(word, set()).add(i)
        self.bm25: _LuceneBM25 | None = None
        if docs and any(docs):
            self.bm25 = _LuceneBM25([doc or [""] for doc in docs])

    def candidates(self, words: Iterable[str]) -> set[int]:
        out: set[int] = set()
        for word in words:
            out |= self.postings.get(word, set())
        return out

    def scores(self, words: list[str], ids: list[int]) -> list[float]:
        if self.bm25 is None or not ids:
            return [0.0] * len(ids)
        known = [w for w in words if w in self.postings]
        if not known:
            return [0.0] * len(ids)
        return [float(s) for s in self.bm25.get_batch_scores(known, ids)]


class GuideIndex:
    """The search index of one library; build once, query from any thread."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.hash = library_hash(library)
        self.matters: tuple[Matter, ...] = library.matters
        self.faqs: tuple[Faq, ...] = library.faqs
        self.by_key: dict[str, Matter] = {m.key: m for m in library.matters}
        self._matter_pos = {m.key: i for i, m in enumerate(library.matters)}
        self.groups: list[tuple[str, ...]] = []
        for word, alts in library.synonyms.items():
            group = tuple(dict.fromkeys(normalize(w) for w in (word, *alts) if w.strip()))
            if len(group) > 1:
                self.groups.append(group)
        _add_words(
            [m.name for m in library.matters]
            + [k for m in library.matters for k in m.keywords]
            + [w for g in self.groups for w in g]
        )
        self._fields = {
            "name": _Field([tokens(m.name) for m in self.matters]),
            "keywords": _Field(
                [tokens(" ".join((*m.keywords, m.result_name))) for m in self.matters]
            ),
            "materials": _Field(
                [tokens(" ".join(x.name for x in m.materials)) for m in self.matters]
            ),
        }
        self._chars = _Field([_chars(" ".join((m.name, *m.keywords))) for m in self.matters])
        self._faq_fields = {
            "question": _Field([tokens(f.question) for f in self.faqs]),
            "answer": _Field([tokens(f.answer) for f in self.faqs]),
        }
        self._pinyin: list[_PinyinTerm] = []
        for i, m in enumerate(self.matters):
            self._pinyin.append(_PinyinTerm(m.name, *_pinyin_forms(m.name), i, 1.0))
            for k in m.keywords:
                self._pinyin.append(_PinyinTerm(k, *_pinyin_forms(k), i, 0.9))
        for word in dict.fromkeys(w for g in self.groups for w in g):
            self._pinyin.append(_PinyinTerm(word, *_pinyin_forms(word), None, 0.8))

    # --- text --------------------------------------------------------------------------------

    def expand(self, query: str) -> list[str]:
        """The question's words plus those of every synonym group it touches."""
        words = tokens(query)
        said = set(words)  # groups are matched on the question, not on expansions
        text = normalize(query)
        for group in self.groups:
            if any(w in text or w in said for w in group):
                for member in group:
                    words.extend(w for w in tokens(member) if w not in words)
        return words

    def _rank_faqs(self, words: list[str]) -> list[tuple[int, float]]:
        ids = sorted(set().union(*(f.candidates(words) for f in self._faq_fields.values())))
        totals = [0.0] * len(ids)
        for name, weight in FAQ_FIELDS.items():
            for j, s in enumerate(self._faq_fields[name].scores(words, ids)):
                totals[j] += weight * s
        ranked = sorted(
            ((i, s) for i, s in zip(ids, totals, strict=True) if s > 0), key=lambda p: -p[1]
        )
        return ranked

    def _rank_text(
        self, words: list[str]
    ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        ids = sorted(set().union(*(f.candidates(words) for f in self._fields.values())))
        faqs = self._rank_faqs(words)
        chars = _chars("".join(words))
        if not ids and not faqs:
            ids = sorted(self._chars.candidates(chars))
        totals = dict.fromkeys(ids, 0.0)
        for name, weight in MATTER_FIELDS.items():
            for i, s in zip(ids, self._fields[name].scores(words, ids), strict=True):
                totals[i] += weight * s
        for i, s in zip(ids, self._chars.scores(chars, ids), strict=True):
            totals[i] += CHAR_WEIGHT * s
        for f, score in faqs:
            for key in self.faqs[f].matters:
                pos = self._matter_pos.get(key)
                if pos is not None:
                    totals[pos] = max(totals.get(pos, 0.0), 0.0) + FAQ_LIFT * score
        ranked = sorted(((i, s) for i, s in totals.items() if s > 0), key=lambda p: (-p[1], p[0]))
        return ranked, faqs

    # --- pinyin ------------------------------------------------------------------------------

    def _pinyin_part(self, q: str) -> tuple[dict[int, float], list[tuple[int, float]]]:
        totals: dict[int, float] = {}
        synonyms: list[tuple[str, float]] = []
        for term in self._pinyin:
            quality = _pinyin_quality(q, term)
            if quality <= 0:
                continue
            score = quality * term.weight + 0.01 / len(term.text)
            if term.matter is None:
                synonyms.append((term.text, score))
            elif score > totals.get(term.matter, 0.0):
                totals[term.matter] = score
        faqs: list[tuple[int, float]] = []
        for word, score in sorted(synonyms, key=lambda p: -p[1])[:3]:
            ranked, found = self._rank_text(self.expand(word))
            faqs = faqs or found
            top = ranked[0][1] if ranked else 0.0
            for i, s in ranked[:5]:
                lifted = score * 0.9 * s / top
                totals[i] = max(totals.get(i, 0.0), lifted)
        return totals, faqs

    def _rank_pinyin(self, query: str) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """The whole query, and each space-separated part (“getihu zhizhao”):
        a matter matching several parts ranks above one matching a single part."""
        parts = [p for p in query.replace("'", "").split() if p]
        totals, faqs = self._pinyin_part("".join(parts))
        if len(parts) > 1:
            for part in parts:
                found, part_faqs = self._pinyin_part(part)
                faqs = faqs or part_faqs
                for i, s in found.items():
                    totals[i] = totals.get(i, 0.0) + s / len(parts)
        ranked = sorted(totals.items(), key=lambda p: (-p[1], p[0]))
        return ranked, faqs

    # --- asking ----------------------------------------------------------------------------------

    def ask(self, query: str, *, limit: int = 10) -> Answer:
        text = normalize(query)
        if not text:
            return Answer(query, "empty", (), (), ())
        if _ASCII_QUERY.fullmatch(text) and text.strip(" '"):
            mode: Literal["text", "pinyin"] = "pinyin"
            words: list[str] = [text.replace(" ", "")]
            ranked, faqs = self._rank_pinyin(text)
        else:
            mode = "text"
            words = self.expand(text)
            ranked, faqs = self._rank_text(words)
        matters: tuple[MatterHit, ...] = ()
        if ranked:
            floor = ranked[0][1] * MIN_SHARE
            matters = tuple(
                MatterHit(self.matters[i], round(s, 4)) for i, s in ranked[:limit] if s >= floor
            )
        faq_hits: tuple[FaqHit, ...] = ()
        if faqs:
            floor = faqs[0][1] * FAQ_MIN_SHARE
            faq_hits = tuple(FaqHit(self.faqs[i], round(s, 4)) for i, s in faqs[:3] if s >= floor)
        return Answer(query, mode, tuple(words), matters, faq_hits)

    def matter(self, key: str) -> Matter | None:
        return self.by_key.get(key)


# --- the cache of built indexes ------------------------------------------------------------------

_INDEXES: OrderedDict[str, GuideIndex] = OrderedDict()
_INDEXES_LOCK = threading.Lock()
_KEEP: Final = 4


def index_for(library: Library) -> GuideIndex:
    """The index of `library`, built once per library content (a few kept)."""
    key = library_hash(library)
    with _INDEXES_LOCK:
        found = _INDEXES.get(key)
        if found is not None:
            _INDEXES.move_to_end(key)
            return found
    built = GuideIndex(library)
    with _INDEXES_LOCK:
        _INDEXES[key] = built
        while len(_INDEXES) > _KEEP:
            _INDEXES.popitem(last=False)
    return built
