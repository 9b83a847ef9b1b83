"""One SQLite file per device, shared by the outbox and the journal.

WAL plus ``synchronous=FULL``: a commit is on the card when it returns, so a
power cut keeps everything committed before it.

File descriptors: a held-open WAL database costs three (file, ``-wal``,
``-shm``), and paho's ``select()`` loop fails for any socket numbered 1024
or above. A process that runs hundreds of simulated devices (the benchmark)
therefore passes ``hold_open=False``: each transaction opens and closes its
own connection, which costs a checkpoint per write but no descriptor at rest.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DurableDb:
    """A SQLite database guarded by a lock.

    The MQTT network thread bumps the connection counter while the event loop
    writes the outbox; the lock keeps their transactions apart.
    """

    def __init__(self, path: Path, *, hold_open: bool = True) -> None:
        self.path = path
        self.lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._held: sqlite3.Connection | None = None
        first = self._connect()
        first.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
        if hold_open:
            self._held = first
        else:
            first.close()

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; `transaction()` is explicit.
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=FULL")
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            if self._held is not None:
                yield self._held
                return
            db = self._connect()
            try:
                yield db
            finally:
                db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db:
            yield db

    def script(self, sql: str) -> None:
        with self._connection() as db:
            db.executescript(sql)

    def close(self) -> None:
        with self.lock:
            if self._held is not None:
                self._held.close()
                self._held = None
