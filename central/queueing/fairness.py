"""The fairness log: an append-only, hash-chained record of every departure
from plain queue order (out-of-order calls, priority bumps, 绿色通道, transfers,
parks, no-shows), each with a reason code.

An entry's hash is SHA-256 over the previous entry's hash and the entry's own
canonical JSON, so changing or deleting any past entry breaks the chain from
there on; `verify_chain` finds the first broken entry. Appends are serialised
by the transaction that makes the queue change (the window's row lock), and
the unique constraint on `hash` refuses a forked chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.queueing.models import FairnessEntry

GENESIS = "0" * 64


class FairnessKind(StrEnum):
    OUT_OF_ORDER = "out_of_order"  # 插队: a specific ticket called ahead of the rule
    PRIORITY = "priority"  # priority class raised after issue
    GREEN_CHANNEL = "green_channel"  # 绿色通道 ticket issued
    TRANSFER = "transfer"
    PARK = "park"
    NO_SHOW = "no_show"


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def _content(e: FairnessEntry) -> dict[str, Any]:
    return {
        "at": e.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "kind": e.kind,
        "reason": e.reason,
        "ticket_id": e.ticket_id,
        "ticket_number": e.ticket_number,
        "window_id": e.window_id,
        "clerk_id": e.clerk_id,
        "detail": e.detail,
    }


def append(
    session: Session,
    *,
    kind: FairnessKind,
    reason: str,
    at: dt.datetime,
    ticket_id: int | None = None,
    ticket_number: str | None = None,
    window_id: int | None = None,
    clerk_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> FairnessEntry:
    """Add an entry in the caller's transaction (which commits it with the change)."""
    if not reason:
        raise ValueError("a fairness entry needs a reason code")
    last = session.scalar(select(FairnessEntry.hash).order_by(FairnessEntry.id.desc()).limit(1))
    entry = FairnessEntry(
        at=at, kind=kind.value, reason=reason, ticket_id=ticket_id, ticket_number=ticket_number,
        window_id=window_id, clerk_id=clerk_id, detail=detail or {}, prev_hash=last or GENESIS,
        hash="",
    )  # fmt: skip
    entry.hash = entry_hash(entry.prev_hash, _content(entry))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_bad_id: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the whole chain; report the first entry whose link or hash is wrong."""
    prev = GENESIS
    count = 0
    last_id = 0
    while True:
        # populate_existing: check what the database holds now, not entries this
        # session cached when it wrote them.
        rows = session.scalars(
            select(FairnessEntry).where(FairnessEntry.id > last_id)
            .order_by(FairnessEntry.id).limit(batch)
            .execution_options(populate_existing=True)
        ).all()  # fmt: skip
        if not rows:
            return ChainReport(count, None, None)
        for e in rows:
            count += 1
            if e.prev_hash != prev:
                return ChainReport(count, e.id, "链接断开：上一条记录被删除或修改")
            if entry_hash(prev, _content(e)) != e.hash:
                return ChainReport(count, e.id, "内容与哈希不符：记录被修改")
            prev = e.hash
            last_id = e.id
