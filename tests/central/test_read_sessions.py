"""Sessions for pages that only read (`make_sessionmaker(reads_only=True)`)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from central.db import make_engine, make_sessionmaker


def _state_of(database_url: str, pid: int) -> str:
    other = make_engine(database_url)
    try:
        with other.connect() as c:
            found = c.execute(
                text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar()
    finally:
        other.dispose()
    return str(found)


def test_a_page_that_only_reads_leaves_no_transaction_open_on_postgresql(
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("server-side transactions: PostgreSQL")
    engine = make_engine(database_url)
    try:
        for reads_only, expected in ((False, "idle in transaction"), (True, "idle")):
            with make_sessionmaker(engine, reads_only=reads_only)() as db:
                pid = db.execute(text("SELECT pg_backend_pid()")).scalar()
                assert isinstance(pid, int)
                # Between a page's reads: a plain session holds a transaction
                # (and its snapshot) open; a reads-only one does not.
                assert _state_of(database_url, pid) == expected
                assert db.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
