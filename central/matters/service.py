"""The matter library in the database: versions, publication, import.

Functions here change the session but never commit: the caller (a web route,
a CLI command) commits once the whole change is in, so an import is one
transaction and either lands completely or not at all.

Publishing a version makes it what kiosks and mobile pages show: it bumps the
library revision, and the hub's `MattersOutlet` republishes the retained
``hall/matters`` manifest within a second of the commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from broker.contract import utcnow
from central.matters.diff import Change, diff
from central.matters.models import LibraryExtras, LibraryState, MatterRow, MatterVersion
from central.matters.schema import Faq, Library, Matter

__all__ = [
    "Change",
    "ImportResult",
    "Library",
    "LibraryFile",
    "MatterNotFound",
    "diff",
    "draft_library",
    "import_library",
    "library_file",
    "publish",
    "publish_all",
    "published_library",
    "save_extras",
    "save_matter",
    "versions",
]

LIBRARY_URL: Final = "/api/v1/matters/library.json"


class MatterNotFound(LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"事项 {key} 不存在")
        self.key = key


def document(version: MatterVersion) -> Matter:
    return Matter.model_validate(version.document)


def _row(session: Session, key: str) -> MatterRow | None:
    return session.scalar(select(MatterRow).where(MatterRow.key == key))


def _version(session: Session, row: MatterRow, number: int) -> MatterVersion:
    version = session.scalar(
        select(MatterVersion).where(
            MatterVersion.matter_id == row.id, MatterVersion.number == number
        )
    )
    if version is None:
        raise MatterNotFound(f"{row.key} v{number}")
    return version


def matter_row(session: Session, key: str) -> MatterRow:
    row = _row(session, key)
    if row is None:
        raise MatterNotFound(key)
    return row


def rows(session: Session) -> list[MatterRow]:
    return list(session.scalars(select(MatterRow).order_by(MatterRow.key)))


def draft(session: Session, key: str) -> Matter:
    """The newest version of a matter (what the admin web edits)."""
    row = matter_row(session, key)
    return document(_version(session, row, row.draft_number))


def version(session: Session, key: str, number: int) -> MatterVersion:
    return _version(session, matter_row(session, key), number)


def versions(session: Session, key: str) -> list[MatterVersion]:
    """Every version of a matter, newest first."""
    row = matter_row(session, key)
    return list(
        session.scalars(
            select(MatterVersion)
            .where(MatterVersion.matter_id == row.id)
            .order_by(MatterVersion.number.desc())
        )
    )


def save_matter(session: Session, matter: Matter, *, author: str, reason: str) -> MatterVersion:
    """Store `matter` as its newest version; an unchanged document adds nothing
    and returns the current draft version."""
    now = utcnow()
    doc = matter.model_dump(mode="json")
    row = _row(session, matter.key)
    if row is None:
        row = MatterRow(key=matter.key, name=matter.name, basic_code=matter.basic_code,
                        draft_number=1, updated_at=now)  # fmt: skip
        session.add(row)
        session.flush()
        number = 1
    else:
        current = _version(session, row, row.draft_number)
        if current.document == doc:
            return current
        number = row.draft_number + 1
        row.draft_number = number
        row.name, row.basic_code, row.updated_at = matter.name, matter.basic_code, now
    version = MatterVersion(matter_id=row.id, number=number, document=doc, author=author,
                            reason=reason[:500], created_at=now)  # fmt: skip
    session.add(version)
    session.flush()
    return version


def _state(session: Session) -> LibraryState:
    state = session.get(LibraryState, 1)
    if state is None:
        state = LibraryState(id=1, revision=0, demo=False)
        session.add(state)
        session.flush()
    return state


def _bump(session: Session, now: dt.datetime) -> None:
    state = _state(session)
    state.revision += 1
    state.published_at = now


def publish(session: Session, key: str, *, author: str) -> MatterVersion:
    """Make the matter's draft its published version (nothing happens when it
    already is)."""
    return _publish_matter(session, key, author=author)


def _publish_matter(session: Session, key: str, *, author: str) -> MatterVersion:
    row = matter_row(session, key)
    version = _version(session, row, row.draft_number)
    if row.published_number == row.draft_number:
        return version
    now = utcnow()
    version.published_at, version.published_by = now, author
    row.published_number = row.draft_number
    _bump(session, now)
    session.flush()
    return version


def unpublished(session: Session) -> list[str]:
    """Keys of matters whose draft is not the published version."""
    return [
        r.key
        for r in session.scalars(select(MatterRow).order_by(MatterRow.key))
        if r.published_number != r.draft_number
    ]


def publish_all(session: Session, *, author: str) -> list[str]:
    """Publish every draft, the FAQs and synonyms included; the keys published."""
    keys = unpublished(session)
    for key in keys:
        publish(session, key, author=author)
    extras = _extras(session, published=False)
    if extras is not None and extras.published_at is None:
        extras.published_at = utcnow()
        _bump(session, extras.published_at)
    return keys


# --- FAQs and synonyms --------------------------------------------------------------


def _extras(session: Session, *, published: bool) -> LibraryExtras | None:
    stmt = select(LibraryExtras).order_by(LibraryExtras.id.desc()).limit(1)
    if published:
        stmt = stmt.where(LibraryExtras.published_at.is_not(None))
    return session.scalar(stmt)


Synonyms = dict[str, tuple[str, ...]]


def extras(session: Session, *, published: bool = False) -> tuple[tuple[Faq, ...], Synonyms]:
    row = _extras(session, published=published)
    if row is None:
        return (), {}
    faqs = tuple(Faq.model_validate(f) for f in row.faqs)
    return faqs, {word: tuple(words) for word, words in row.synonyms.items()}


def extras_history(session: Session) -> list[LibraryExtras]:
    return list(session.scalars(select(LibraryExtras).order_by(LibraryExtras.id.desc())))


def save_extras(
    session: Session, *, faqs: Sequence[Faq], synonyms: dict[str, tuple[str, ...]], author: str,
    reason: str, publish: bool = False,
) -> bool:  # fmt: skip
    """Store a new version of the FAQs and synonyms; False when nothing changed."""
    now = utcnow()
    current = _extras(session, published=False)
    faq_docs = [f.model_dump(mode="json") for f in faqs]
    syn_docs = {word: list(words) for word, words in synonyms.items()}
    if current is not None and current.faqs == faq_docs and current.synonyms == syn_docs:
        if publish and current.published_at is None:
            current.published_at = now
            _bump(session, now)
            return True
        return False
    if current is None and not faq_docs and not syn_docs:
        return False
    row = LibraryExtras(faqs=faq_docs, synonyms=syn_docs, author=author, reason=reason[:500],
                        created_at=now, published_at=now if publish else None)  # fmt: skip
    session.add(row)
    if publish:
        _bump(session, now)
    session.flush()
    return True


# --- whole libraries ------------------------------------------------------------------


def published_library(session: Session) -> Library:
    """What kiosks and mobile pages show: every matter's published version (by
    key), the published FAQs and synonyms, and the demo flag."""
    found = session.execute(
        select(MatterVersion.document)
        .join(MatterRow, MatterRow.id == MatterVersion.matter_id)
        .where(MatterVersion.number == MatterRow.published_number)
        .order_by(MatterRow.key)
    )
    faqs, synonyms = extras(session, published=True)
    state = session.get(LibraryState, 1)
    return Library(
        demo=bool(state and state.demo),
        matters=tuple(Matter.model_validate(doc) for (doc,) in found),
        faqs=faqs,
        synonyms=synonyms,
    )


def draft_library(session: Session) -> Library:
    """The library as being edited: every matter's newest version (what export writes)."""
    found = session.execute(
        select(MatterVersion.document)
        .join(MatterRow, MatterRow.id == MatterVersion.matter_id)
        .where(MatterVersion.number == MatterRow.draft_number)
        .order_by(MatterRow.key)
    )
    faqs, synonyms = extras(session)
    state = session.get(LibraryState, 1)
    return Library(
        demo=bool(state and state.demo),
        matters=tuple(Matter.model_validate(doc) for (doc,) in found),
        faqs=faqs,
        synonyms=synonyms,
    )


@dataclass(frozen=True)
class LibraryFile:
    """The published library as served to devices, with its manifest figures."""

    revision: int
    body: bytes
    sha256: str
    matters: int
    demo: bool
    published_at: dt.datetime | None


def revision(session: Session) -> int:
    state = session.get(LibraryState, 1)
    return state.revision if state is not None else 0


def library_file(session: Session) -> LibraryFile:
    library = published_library(session)
    body = library.model_dump_json().encode()
    state = session.get(LibraryState, 1)
    return LibraryFile(
        revision=state.revision if state is not None else 0,
        body=body,
        sha256=hashlib.sha256(body).hexdigest(),
        matters=len(library.matters),
        demo=library.demo,
        published_at=state.published_at if state is not None else None,
    )


# --- import ---------------------------------------------------------------------------


@dataclass
class ImportResult:
    problems: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    extras_changed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if not self.ok:
            return f"未导入：发现 {len(self.problems)} 个问题"
        text = (
            f"导入完成：新增事项 {len(self.created)} 个，更新 {len(self.updated)} 个，"
            f"未变 {len(self.unchanged)} 个"
        )
        if self.extras_changed:
            text += "，常见问题与同义词已更新"
        if self.published:
            text += f"；已发布 {len(self.published)} 个事项"
        return text


def library_problems(library: Library) -> list[str]:
    """What makes a library impossible to store (duplicate keys)."""
    problems = []
    for key, n in Counter(m.key for m in library.matters).items():
        if n > 1:
            problems.append(f"事项标识 {key} 出现了 {n} 次")
    for key, n in Counter(f.key for f in library.faqs).items():
        if n > 1:
            problems.append(f"常见问题标识 {key} 出现了 {n} 次")
    return problems


def import_library(
    session: Session, library: Library, *, author: str, reason: str, publish: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:  # fmt: skip
    """Store every matter of `library` as a new version (unchanged ones get none),
    and its FAQs and synonyms; with `publish`, publish all of it. All or
    nothing: when anything is wrong, nothing is written."""
    result = ImportResult(problems=library_problems(library))
    if not result.ok:
        return result
    for matter in library.matters:
        before = _row(session, matter.key)
        old_number = before.draft_number if before is not None else None
        saved = save_matter(session, matter, author=author, reason=reason)
        if old_number is None:
            result.created.append(matter.key)
        elif saved.number != old_number:
            result.updated.append(matter.key)
        else:
            result.unchanged.append(matter.key)
        if progress is not None:
            progress(1)
    result.extras_changed = save_extras(
        session, faqs=library.faqs, synonyms=dict(library.synonyms), author=author, reason=reason
    )
    state = _state(session)
    if state.demo != library.demo:
        state.demo = library.demo
    if publish:
        keys = {m.key for m in library.matters}
        for key in unpublished(session):
            if key in keys:
                _publish_matter(session, key, author=author)
                result.published.append(key)
        current = _extras(session, published=False)
        if current is not None and current.published_at is None:
            current.published_at = utcnow()
            _bump(session, current.published_at)
    session.flush()
    return result
