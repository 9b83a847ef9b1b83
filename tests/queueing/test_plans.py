"""Call-next's reads stay look-ups by index however long the tickets table
grows (every day's tickets stay in it). On PostgreSQL an ``OR`` of two
``IN (sub-select)`` conditions can only be a filter over the whole table;
the hall would slow down week by week. Checked with sequential scans
disabled, so that the plan shows one only where there is no other way."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection
from sqlalchemy.sql.elements import ClauseElement

from central.queueing import calling, notify
from tests.queueing.hall import Hall


def _plan(connection: Connection, statement: ClauseElement, params: dict[str, object]) -> str:
    compiled = statement.compile(dialect=connection.dialect)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", {**compiled.params, **params})
    return "\n".join(row[0] for row in rows)


def test_call_next_reads_tickets_by_index_not_the_whole_table(counter: Hall) -> None:
    if counter.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner")
    for _ in range(3):
        counter.issue("general")
    service = counter.ticket(1).service_id
    with counter.engine.begin() as connection:
        candidates = _plan(
            connection,
            calling._candidates_in_one(1, locked=True),
            {"s0": service, "day": counter.day},
        )
        front = _plan(connection, notify._FRONT.statement, {"service": service, "day": counter.day})
    assert "Seq Scan on tickets" not in candidates, candidates
    assert "Seq Scan on tickets" not in front, front
