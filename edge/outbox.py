"""The durable event outbox of one device.

An event is committed to SQLite (WAL, ``synchronous=FULL``) before it is
published and is removed only when the hub acknowledges it, so a power cut
between "pressed" and "sent" neither loses nor reorders it. Sequence numbers
keep rising across boots (the counter lives in the same file), and the hub
deduplicates by ``(device, boot_id, seq)``, so resending is always safe.

The stored body is the encoded `Event` itself: a resend is byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from broker.contract import Event, Name, encode, new_id, utcnow
from edge.durable import DurableDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    boot_id TEXT NOT NULL,
    name TEXT NOT NULL,
    body BLOB NOT NULL
);
"""


_NAME: TypeAdapter[str] = TypeAdapter(Name)


@dataclass(frozen=True)
class Pending:
    """An event waiting for the hub's acknowledgement."""

    seq: int
    boot_id: str
    name: str
    body: bytes


class Outbox:
    """Events of one device that the hub has not acknowledged yet.

    A commit costs one fsync (a few milliseconds on an SD card): the price of
    "written before sent".
    """

    def __init__(self, db: DurableDb, *, boot_id: str) -> None:
        self._db = db
        self.boot_id = boot_id
        db.script(_SCHEMA)

    def emit(self, name: str, data: dict[str, Any], *, event_id: str | None = None) -> Event:
        """Store a new event and return it. With an `event_id` already stored
        (a replay), the stored event is returned and nothing is added."""
        try:
            _NAME.validate_python(name)
        except ValidationError:
            # Refuse here, where the caller can see it, not later in the courier.
            raise ValueError(f"invalid event name {name!r}: use a-z, 0-9 and _") from None
        with self._db.transaction() as db:
            if event_id is not None:
                row = db.execute("SELECT body FROM outbox WHERE event_id = ?", (event_id,))
                existing = row.fetchone()
                if existing is not None:
                    return Event.model_validate_json(existing[0])
            (seq,) = db.execute(
                "INSERT INTO outbox_meta (key, value) VALUES ('seq', 1) "
                "ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value"
            ).fetchone()
            event = Event(
                event_id=event_id or new_id(),
                boot_id=self.boot_id,
                seq=int(seq),
                ts=utcnow(),
                data=data,
            )
            db.execute(
                "INSERT INTO outbox (seq, event_id, boot_id, name, body) VALUES (?, ?, ?, ?, ?)",
                (event.seq, event.event_id, event.boot_id, name, encode(event)),
            )
        return event

    def ack(self, boot_id: str, seq: int) -> bool:
        """Drop an acknowledged event; False when it was not (or no longer) here."""
        with self._db.transaction() as db:
            cur = db.execute("DELETE FROM outbox WHERE seq = ? AND boot_id = ?", (seq, boot_id))
            return cur.rowcount > 0

    def pending(self, limit: int = 1000) -> list[Pending]:
        """The oldest unacknowledged events, in the order they were emitted."""
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT seq, boot_id, name, body FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Pending(int(s), str(b), str(n), bytes(body)) for s, b, n, body in rows]

    def depth(self) -> int:
        with self._db.reading() as db:
            return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def last_seq(self) -> int:
        with self._db.reading() as db:
            row = db.execute("SELECT value FROM outbox_meta WHERE key = 'seq'").fetchone()
        return 0 if row is None else int(row[0])
