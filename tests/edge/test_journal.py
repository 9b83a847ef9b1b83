"""The device journal remembers its connection counter and recent command results."""

from __future__ import annotations

from pathlib import Path

from broker.contract import CommandResult, ResultStatus
from edge.durable import DurableDb
from edge.journal import Journal


def test_connection_counter_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    first = Journal(DurableDb(path))
    assert [first.next_connection(), first.next_connection()] == [1, 2]

    assert Journal(DurableDb(path)).next_connection() == 3


def test_only_the_most_recent_results_are_kept(tmp_path: Path) -> None:
    journal = Journal(DurableDb(tmp_path / "d.sqlite3"), results_kept=3)
    for n in range(5):
        journal.store_result(
            CommandResult(command_id=f"c{n}", name="ping", status=ResultStatus.SUCCEEDED)
        )

    assert journal.results_count() == 3
    assert journal.result("c0") is None
    stored = journal.result("c4")
    assert stored is not None
    assert stored.status is ResultStatus.SUCCEEDED
