"""The hub copies SQLite's WAL back into the database file in the background,
not in the commit of whichever window verb happens to fill it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from tests.central.conftest import running_hub
from tests.central.fakes import eventually
from tests.conftest import RunningBroker


def _rows_in_the_database_file(path: Path) -> int:
    """Rows of the filler table as the database file alone holds them: an
    immutable connection does not read the WAL."""
    con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(con.execute("SELECT count(*) FROM filler").fetchone()[0])
    except sqlite3.DatabaseError:
        # The table is still only in the WAL, or a checkpoint is writing the
        # file under this reader ("malformed"): ask again.
        return 0
    finally:
        con.close()


async def test_the_hub_checkpoints_the_wal_in_the_background(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    path = tmp_path / "hub.sqlite3"
    async with running_hub(
        database_url=f"sqlite:///{path}", tmp_path=tmp_path, broker=mosquitto
    ) as hub:
        engine = hub.state.engine
        with engine.begin() as c:
            # No commit of the hub checkpoints on its own.
            assert c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            c.execute(text("CREATE TABLE filler (n INTEGER, pad BLOB)"))
        for batch in range(20):  # a handful of small commits, as verbs make
            with engine.begin() as c:
                c.execute(
                    text("INSERT INTO filler VALUES (:n, randomblob(200))"),
                    [{"n": batch * 10 + i} for i in range(10)],
                )
        await eventually(
            lambda: _rows_in_the_database_file(path) == 200,
            within_s=5,
            what="the 200 rows in the database file itself",
        )
