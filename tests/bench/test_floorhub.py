"""`bench.floorhub`, the throughput benchmark's floor: it must really keep
every operation it answers, or its figures would flatter the stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select

from bench import floorhub
from bench.queuehub import PATHS
from central.db import make_engine


@pytest.fixture
def floor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, str, str]]:
    url = f"sqlite:///{tmp_path / 'floor.sqlite3'}"
    tokens = floorhub.create_schema(url, seed_per_service=2)
    monkeypatch.setenv(floorhub.DB_ENV, url)
    monkeypatch.delenv("ANXIN_BENCH_NULL_MQTT_PORT", raising=False)
    with TestClient(floorhub.app) as client:
        yield client, tokens[0], url


def _count(url: str, table: Table) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def test_a_cycle_is_kept_in_the_database(floor: tuple[TestClient, str, str]) -> None:
    client, token, _ = floor
    service = floorhub.service_codes()[0]
    issued = client.post(PATHS.issue, json={"service": service}).json()
    # Two seeded tickets of this service wait before it.
    assert issued["ahead"] == 2
    assert issued["number"].endswith("003")
    assert client.get(PATHS.citizen.format(token=token)).json()["state"] == "waiting"

    called = client.post(PATHS.next.format(n=1), json={}).json()["ticket"]
    assert called["state"] == "called"
    # The oldest ticket was called: the view of the first seeded one says so.
    assert client.get(PATHS.citizen.format(token=token)).json()["state"] == "called"
    # A window holding a ticket cannot call another; the refusal says why.
    again = client.post(PATHS.next.format(n=1), json={})
    assert again.status_code == 409
    assert "ticket" in again.json()["detail"]

    assert client.post(PATHS.start.format(n=1)).json()["ticket"]["state"] == "serving"
    done = client.post(PATHS.finish.format(n=1), json={"outcome": "completed"})
    assert done.json()["ticket"] == {"id": called["id"], "state": "done"}
    # Finishing twice is refused: the window is free now.
    assert client.post(PATHS.finish.format(n=1), json={}).status_code == 409


def test_each_operation_appends_its_event(floor: tuple[TestClient, str, str]) -> None:
    client, _, url = floor
    before = _count(url, floorhub.events)
    client.post(PATHS.issue, json={"service": floorhub.service_codes()[1]})
    client.post(PATHS.next.format(n=2), json={})
    client.post(PATHS.start.format(n=2))
    client.post(PATHS.finish.format(n=2), json={"outcome": "completed"})
    assert _count(url, floorhub.events) == before + 4


def test_the_last_waiting_ticket_is_called_once(floor: tuple[TestClient, str, str]) -> None:
    client, _, _ = floor
    waiting = 2 * len(floorhub.service_codes())
    numbers = set()
    for n in range(1, waiting + 2):
        ticket = client.post(PATHS.next.format(n=n), json={}).json()["ticket"]
        if ticket is not None:
            numbers.add(ticket["id"])
    # Every seeded ticket called once, and the window after them found none.
    assert len(numbers) == waiting


def test_next_can_finish_the_current_ticket_first(floor: tuple[TestClient, str, str]) -> None:
    client, _, url = floor
    first = client.post(PATHS.next.format(n=3), json={}).json()["ticket"]
    before = _count(url, floorhub.events)
    # 办结并叫下一位: the held ticket is done and the next one called, in one press.
    second = client.post(PATHS.next.format(n=3), json={"finish_current": "completed"})
    assert second.json()["ticket"]["id"] != first["id"]
    assert _count(url, floorhub.events) == before + 2
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            state = conn.execute(
                select(floorhub.tickets.c.state).where(floorhub.tickets.c.id == first["id"])
            ).scalar_one()
    finally:
        engine.dispose()
    assert state == "done"
