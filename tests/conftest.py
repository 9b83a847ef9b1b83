"""Shared fixtures: real MQTT brokers and real databases, private to each test.

- ``mosquitto``: a Mosquitto started by the test on a free port (anonymous, no
  persistence), so tests never share retained state.
- ``embedded_broker``: the amqtt broker of `broker.embedded` on a free port,
  with per-user credentials and the hall ACL, running in its own thread.
- ``mqtt_broker``: both of the above, one after the other.
- ``database_url``: a fresh SQLite file, and a fresh PostgreSQL database when
  ``ANXIN_TEST_POSTGRES_URL`` names a server (skipped with the reason otherwise).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from broker import local
from broker.credentials import mqtt_password
from broker.session import BrokerAddress

TEST_SECRET = "test-hall-secret"
HALL = "test"


@dataclass(frozen=True)
class RunningBroker:
    kind: str
    host: str
    port: int
    secret: str = TEST_SECRET
    hall: str = HALL

    def address(self, user: str, *, keepalive_s: int = 10) -> BrokerAddress:
        return BrokerAddress(
            host=self.host,
            port=self.port,
            username=user,
            password=mqtt_password(self.secret, user),
            keepalive_s=keepalive_s,
        )


def start_mosquitto(workdir: Path, extra_conf: str = "") -> tuple[subprocess.Popen[bytes], int]:
    """Start a private Mosquitto; skip the test where Mosquitto is not installed."""
    try:
        return local.start_mosquitto(workdir, extra_conf)
    except local.MosquittoMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[RunningBroker]:
    workdir = tmp_path / "mosquitto"
    workdir.mkdir()
    proc, port = start_mosquitto(workdir)
    try:
        yield RunningBroker("mosquitto", "127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def embedded_broker() -> Iterator[RunningBroker]:
    broker = local.EmbeddedBrokerThread(hall=HALL, secret=TEST_SECRET)
    try:
        yield RunningBroker("embedded", "127.0.0.1", broker.port)
    finally:
        broker.stop()


@pytest.fixture(params=["mosquitto", "embedded"])
def mqtt_broker(request: pytest.FixtureRequest) -> RunningBroker:
    broker: RunningBroker = request.getfixturevalue(
        "mosquitto" if request.param == "mosquitto" else "embedded_broker"
    )
    return broker


POSTGRES_ENV = "ANXIN_TEST_POSTGRES_URL"


def _postgres_database(server_url: str) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = f"anxin_test_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL named by {POSTGRES_ENV} is unreachable: {exc}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite3'}"
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (CI sets it)")
    yield from _postgres_database(server)


@pytest.fixture
def pins() -> Iterator[Any]:
    """gpiozero's mock pin factory, for a device's buttons, LED and display."""
    from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

    factory = MockFactory()
    try:
        yield factory
    finally:
        factory.close()
