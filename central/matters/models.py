"""Tables of the matter library (事项库).

Every change to a matter is a new row in ``matter_versions`` holding the whole
`Matter` document as JSON, with its author, time and reason; nothing is ever
updated in place, so the history shows who changed what and why. A matter row
points at its newest version (the draft, ``draft_number``) and at the version
kiosks and mobile pages show (``published_number``).

FAQs and synonyms are hall-wide and versioned the same way in
``matter_library_extras`` (the newest row is the draft, the newest row with
``published_at`` is live). ``matter_library_state`` is one row whose
``revision`` grows on every publication; the hub watches it to republish the
retained library manifest (see `central.matters.outlet`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime
from central.queueing.models import BigPk


class MatterRow(Base):
    """One matter of the library, identified by its stable key."""

    __tablename__ = "matters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # Copied from the newest version for listing and searching without JSON.
    name: Mapped[str] = mapped_column(String(200))
    basic_code: Mapped[str] = mapped_column(String(200), default="")
    draft_number: Mapped[int] = mapped_column(Integer)
    published_number: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class MatterVersion(Base):
    """One version of a matter: the whole document, who wrote it, when and why."""

    __tablename__ = "matter_versions"
    __table_args__ = (UniqueConstraint("matter_id", "number"),)

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    published_by: Mapped[str | None] = mapped_column(String(64), default=None)


class LibraryExtras(Base):
    """One version of the hall-wide FAQs and synonyms."""

    __tablename__ = "matter_library_extras"

    id: Mapped[int] = mapped_column(BigPk, primary_key=True, autoincrement=True)
    faqs: Mapped[list[Any]] = mapped_column(JSON)
    synonyms: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)


class LibraryState(Base):
    """The single row (id 1) describing the published library as a whole."""

    __tablename__ = "matter_library_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    demo: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
