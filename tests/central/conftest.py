"""Hub fixtures: a real app with its bridge on a real broker and a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from anxin.settings import Settings
from broker.contract import Topics
from central.app import app_state, create_app
from central.auth.models import Role
from central.auth.service import create_user
from central.db import upgrade_database
from central.state import HubState
from tests.central.fakes import FakeDevice
from tests.conftest import RunningBroker

PASSWORD = "correct-horse-battery"


def hub_settings(
    *, database_url: str, tmp_path: Path, broker: RunningBroker | None = None, **hub: Any
) -> Settings:
    mqtt: dict[str, Any] = {"host": "127.0.0.1", "port": 1}  # unused without a broker
    if broker is not None:
        mqtt = {"host": broker.host, "port": broker.port}
    return Settings(
        hall=broker.hall if broker is not None else "test",
        data_dir=tmp_path / "hub-data",
        mqtt=mqtt,
        hub={
            "database_url": database_url,
            "secret_key": broker.secret if broker is not None else "test-hall-secret",
            "command_timeout_s": 2.0,
            **hub,
        },
    )


@dataclass
class Hub:
    """One running hub as a test sees it: its HTTP client, state and devices."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    broker: RunningBroker | None
    devices: list[FakeDevice] = field(default_factory=list)

    @property
    def state(self) -> HubState:
        return app_state(self.app)

    @property
    def topics(self) -> Topics:
        return Topics(self.settings.hall)

    async def add_user(self, username: str, role: Role, password: str = PASSWORD) -> None:
        def create() -> None:
            with self.state.sessions() as session:
                create_user(session, username=username, role=role, password=password)
                session.commit()

        await asyncio.to_thread(create)

    async def sign_in(self, role: Role = Role.ADMIN) -> None:
        """A user of `role` signs in through the API; later calls carry the CSRF header."""
        username = f"{role.value}-user"
        await self.add_user(username, role)
        response = await self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.client.headers["X-CSRF-Token"] = response.json()["csrf_token"]

    async def device(self, device_id: str, **kwargs: Any) -> FakeDevice:
        assert self.broker is not None
        device = await FakeDevice(self.broker, device_id, **kwargs).start()
        self.devices.append(device)
        return device

    async def device_json(self, device_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/devices/{device_id}")
        return dict(response.json()) if response.status_code == 200 else {}

    def metric(self, name: str, **labels: str) -> float:
        value = self.state.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


@asynccontextmanager
async def running_hub(
    *,
    database_url: str,
    tmp_path: Path,
    broker: RunningBroker | None,
    queue: dict[str, Any] | None = None,
    sections: dict[str, Any] | None = None,
    **hub: Any,
) -> AsyncIterator[Hub]:
    """`hub` updates the hub section, `queue` the queue section, `sections`
    replaces whole sections (e.g. ``{"kiosk": KioskSettings(...)}``)."""
    settings = hub_settings(database_url=database_url, tmp_path=tmp_path, broker=broker, **hub)
    if queue:
        settings = settings.model_copy(update={"queue": settings.queue.model_copy(update=queue)})
    if sections:
        settings = settings.model_copy(update=sections)
    await asyncio.to_thread(upgrade_database, settings)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        running = Hub(app, client, settings, broker)
        if broker is None:
            # Pages and API without MQTT: the lifespan (and its bridge) never starts.
            yield running
            app_state(app).engine.dispose()
            return
        async with app.router.lifespan_context(app):
            await running.state.bridge.wait_connected(10)
            try:
                yield running
            finally:
                # Every device, connected or not: a disconnected one's thread
                # would otherwise keep retrying (and logging) after the test.
                for device in running.devices:
                    await device.stop()


@pytest.fixture
async def hub(mqtt_broker: RunningBroker, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    """A hub on each broker (Mosquitto, embedded) and each database (SQLite, PostgreSQL)."""
    async with running_hub(database_url=database_url, tmp_path=tmp_path, broker=mqtt_broker) as h:
        yield h


@pytest.fixture
async def mosquitto_hub(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> AsyncIterator[Hub]:
    """A hub on Mosquitto only, for behaviour that does not depend on the broker."""
    async with running_hub(database_url=database_url, tmp_path=tmp_path, broker=mosquitto) as h:
        yield h


@pytest.fixture
async def web(database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    """The hub's pages and API without a broker (sign-in, roles, CSRF)."""
    async with running_hub(database_url=database_url, tmp_path=tmp_path, broker=None) as h:
        yield h


@asynccontextmanager
async def serving_hub(settings: Settings) -> AsyncIterator[str]:
    """The whole hub (`run_hub`: HTTP and MQTT bridge) until the block ends; yields its URL."""
    from central.server import run_hub

    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_hub(settings, ready=ready.set_result))
    try:
        yield await asyncio.wait_for(ready, 15)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
