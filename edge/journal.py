"""The device's local journal: its connection counter and its command results.

The connection counter (Sparkplug's bdSeq) must survive reboots, or a stale
will from before the reboot could not be told from a fresh one. Final command
results are kept (the last `RESULTS_KEPT`) so that a command delivered twice
returns the first answer instead of running again.
"""

from __future__ import annotations

from typing import Final

from broker.contract import CommandResult, encode
from edge.durable import DurableDb

RESULTS_KEPT: Final = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS command_results (command_id TEXT PRIMARY KEY, body BLOB NOT NULL);
"""


class Journal:
    def __init__(self, db: DurableDb, *, results_kept: int = RESULTS_KEPT) -> None:
        self._db = db
        self._results_kept = results_kept
        db.script(_SCHEMA)

    def next_connection(self) -> int:
        """Increment and return the per-connection counter (1 on a new device)."""
        with self._db.transaction() as db:
            (value,) = db.execute(
                "INSERT INTO journal_meta (key, value) VALUES ('connection', 1) "
                "ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value"
            ).fetchone()
        return int(value)

    def connection(self) -> int:
        with self._db.reading() as db:
            row = db.execute("SELECT value FROM journal_meta WHERE key = 'connection'").fetchone()
        return 0 if row is None else int(row[0])

    def result(self, command_id: str) -> CommandResult | None:
        with self._db.reading() as db:
            row = db.execute(
                "SELECT body FROM command_results WHERE command_id = ?", (command_id,)
            ).fetchone()
        return None if row is None else CommandResult.model_validate_json(row[0])

    def store_result(self, result: CommandResult) -> None:
        """Keep a final result; the oldest beyond `results_kept` are forgotten."""
        with self._db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO command_results (command_id, body) VALUES (?, ?)",
                (result.command_id, encode(result)),
            )
            db.execute(
                "DELETE FROM command_results "
                "WHERE rowid <= (SELECT max(rowid) FROM command_results) - ?",
                (self._results_kept,),
            )

    def results_count(self) -> int:
        with self._db.reading() as db:
            return int(db.execute("SELECT count(*) FROM command_results").fetchone()[0])
