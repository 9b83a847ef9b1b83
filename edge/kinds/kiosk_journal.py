"""The kiosk's offline journal: reserved number blocks and the tickets issued
from them, in one SQLite file (WAL, ``synchronous=FULL``) of its own.

A ticket is committed here before `Kiosk.take` returns, that is before it is
printed; a power cut afterwards loses nothing. Each row then becomes a
``ticket_offline`` event in the durable outbox with a deterministic event id
(``emitted`` marks it); rows that a crash left unmarked are emitted again at
start, and the outbox (by event id) and the hub (by service, day and number)
make the second copy harmless.

The journal never holds a citizen's identity in clear: only an HMAC with a
key that lives in this file (the one-ticket check of this kiosk). The clear
value rides in the outbox event until the hub acknowledges it, because the
hub needs it for its own per-person rule and SMS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker.contract import KioskBlocks, NumberBlock
from edge.durable import DurableDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kiosk_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kiosk_blocks (
    service TEXT NOT NULL,
    day TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (service, day, first)
);
CREATE TABLE IF NOT EXISTS kiosk_tickets (
    service TEXT NOT NULL,
    day TEXT NOT NULL,
    seq INTEGER NOT NULL,
    number TEXT NOT NULL,
    token TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    priority TEXT NOT NULL,
    priority_reason TEXT,
    citizen_key TEXT,
    matter TEXT,
    event_id TEXT NOT NULL UNIQUE,
    emitted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (service, day, seq)
);
CREATE INDEX IF NOT EXISTS ix_kiosk_tickets_citizen ON kiosk_tickets (day, service, citizen_key);
"""

KEEP_DAYS = 7


class BlocksExhausted(Exception):
    """No reserved number left for this service and day."""


class AlreadyHolds(Exception):
    """The citizen already took a ticket of this service today at this kiosk."""

    def __init__(self, number: str) -> None:
        super().__init__(number)
        self.number = number


@dataclass(frozen=True)
class JournalTicket:
    service: str
    day: str
    seq: int
    number: str
    token: str
    issued_at: dt.datetime
    priority: str
    priority_reason: str | None
    matter: str | None
    event_id: str


class KioskJournal:
    def __init__(self, path: Path, *, hold_open: bool = True) -> None:
        self._db = DurableDb(path, hold_open=hold_open)
        self._db.script(_SCHEMA)
        self._key = self._citizen_key_secret()

    def close(self) -> None:
        self._db.close()

    # --- meta ---------------------------------------------------------------------

    def _citizen_key_secret(self) -> bytes:
        with self._db.transaction() as db:
            row = db.execute("SELECT value FROM kiosk_meta WHERE key = 'citizen_key'").fetchone()
            if row is not None:
                return bytes.fromhex(str(row[0]))
            key = secrets.token_bytes(32)
            db.execute(
                "INSERT INTO kiosk_meta (key, value) VALUES ('citizen_key', ?)", (key.hex(),)
            )
            return key

    def get_meta(self, key: str) -> str | None:
        with self._db.reading() as db:
            row = db.execute("SELECT value FROM kiosk_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO kiosk_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def citizen_key(self, citizen_id: str) -> str:
        normalised = "".join(citizen_id.split()).replace("-", "").upper()
        return hmac.new(self._key, normalised.encode(), hashlib.sha256).hexdigest()

    # --- blocks -------------------------------------------------------------------

    def store_blocks(self, message: KioskBlocks, *, today: str) -> int:
        """Keep the catalogue and every block of the message; forget old days.
        Returns how many blocks were new."""
        catalogue = message.model_dump(mode="json", exclude={"blocks"})
        cutoff = (dt.date.fromisoformat(today) - dt.timedelta(days=KEEP_DAYS)).isoformat()
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO kiosk_meta (key, value) VALUES ('catalogue', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (json.dumps(catalogue, ensure_ascii=False),),
            )
            added = 0
            for b in message.blocks:
                if b.last < b.first:
                    continue
                cur = db.execute(
                    "INSERT OR IGNORE INTO kiosk_blocks (service, day, first, last) "
                    "VALUES (?, ?, ?, ?)",
                    (b.service, b.day, b.first, b.last),
                )
                added += cur.rowcount
            db.execute("DELETE FROM kiosk_blocks WHERE day < ?", (cutoff,))
            # Only reconciled tickets are forgotten: an unacknowledged one is still
            # in the outbox and its row keeps its number from being reused.
            db.execute("DELETE FROM kiosk_tickets WHERE day < ? AND emitted = 1", (cutoff,))
        return added

    def catalogue(self) -> dict[str, Any] | None:
        raw = self.get_meta("catalogue")
        return None if raw is None else dict(json.loads(raw))

    def blocks(self, day: str | None = None) -> list[NumberBlock]:
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT service, day, first, last FROM kiosk_blocks "
                "WHERE (? IS NULL OR day = ?) ORDER BY service, day, first",
                (day, day),
            ).fetchall()
        return [NumberBlock(service=s, day=d, first=f, last=la) for s, d, f, la in rows]

    def unused(self, service: str, day: str) -> int:
        """Reserved numbers of the service and day not used yet."""
        with self._db.reading() as db:
            total = db.execute(
                "SELECT coalesce(sum(last - first + 1), 0) FROM kiosk_blocks "
                "WHERE service = ? AND day = ?",
                (service, day),
            ).fetchone()[0]
            used = db.execute(
                "SELECT count(*) FROM kiosk_tickets t JOIN kiosk_blocks b "
                "ON b.service = t.service AND b.day = t.day AND t.seq BETWEEN b.first AND b.last "
                "WHERE t.service = ? AND t.day = ?",
                (service, day),
            ).fetchone()[0]
        return int(total) - int(used)

    # --- tickets ------------------------------------------------------------------

    def issue(
        self,
        *,
        service: str,
        day: str,
        prefix: str,
        width: int,
        issued_at: dt.datetime,
        priority: str,
        priority_reason: str | None,
        citizen_key: str | None,
        matter: str | None,
    ) -> JournalTicket:
        """Take the lowest unused reserved number and commit the ticket (one
        transaction), or raise `BlocksExhausted` / `AlreadyHolds`."""
        with self._db.transaction() as db:
            if citizen_key is not None:
                held = db.execute(
                    "SELECT number FROM kiosk_tickets "
                    "WHERE day = ? AND service = ? AND citizen_key = ? LIMIT 1",
                    (day, service, citizen_key),
                ).fetchone()
                if held is not None:
                    raise AlreadyHolds(str(held[0]))
            seq = None
            for first, last in db.execute(
                "SELECT first, last FROM kiosk_blocks WHERE service = ? AND day = ? ORDER BY first",
                (service, day),
            ).fetchall():
                top = db.execute(
                    "SELECT max(seq) FROM kiosk_tickets "
                    "WHERE service = ? AND day = ? AND seq BETWEEN ? AND ?",
                    (service, day, first, last),
                ).fetchone()[0]
                candidate = first if top is None else int(top) + 1
                if candidate <= last:
                    seq = candidate
                    break
            if seq is None:
                raise BlocksExhausted(service)
            ticket = JournalTicket(
                service=service,
                day=day,
                seq=seq,
                number=f"{prefix}{seq:0{width}d}",
                token=secrets.token_urlsafe(16),
                issued_at=issued_at,
                priority=priority,
                priority_reason=priority_reason,
                matter=matter,
                event_id=f"off-{day}-{service}-{seq}",
            )
            db.execute(
                "INSERT INTO kiosk_tickets (service, day, seq, number, token, issued_at, "
                "priority, priority_reason, citizen_key, matter, event_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (service, day, seq, ticket.number, ticket.token, issued_at.isoformat(),
                 priority, priority_reason, citizen_key, matter, ticket.event_id),
            )  # fmt: skip
        return ticket

    def mark_emitted(self, event_id: str) -> None:
        with self._db.transaction() as db:
            db.execute("UPDATE kiosk_tickets SET emitted = 1 WHERE event_id = ?", (event_id,))

    def not_emitted(self) -> list[JournalTicket]:
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT service, day, seq, number, token, issued_at, priority, priority_reason, "
                "matter, event_id FROM kiosk_tickets WHERE emitted = 0 ORDER BY issued_at, seq"
            ).fetchall()
        return [
            JournalTicket(s, d, int(q), n, t, dt.datetime.fromisoformat(at), p, r, m, e)
            for s, d, q, n, t, at, p, r, m, e in rows
        ]

    def tickets(self, day: str | None = None) -> list[JournalTicket]:
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT service, day, seq, number, token, issued_at, priority, priority_reason, "
                "matter, event_id FROM kiosk_tickets WHERE (? IS NULL OR day = ?) "
                "ORDER BY issued_at, seq",
                (day, day),
            ).fetchall()
        return [
            JournalTicket(s, d, int(q), n, t, dt.datetime.fromisoformat(at), p, r, m, e)
            for s, d, q, n, t, at, p, r, m, e in rows
        ]
