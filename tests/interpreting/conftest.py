"""A real hub served over HTTP (uvicorn) for the signalling sockets, and
WebSocket clients speaking `broker.signalling` as a terminal or a console."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect

from anxin.settings import Settings
from broker.signalling import terminal_token, to_side
from central.app import create_app
from central.auth.models import Role
from central.auth.service import create_user
from central.db import make_engine, make_sessionmaker, upgrade_database
from central.interpreting.service import InterpretingService, interpreting_of
from tests.central.conftest import PASSWORD, hub_settings
from tests.central.conftest import web as web  # the pages without a broker
from tests.conftest import RunningBroker


class Side:
    """One signalling socket: send contract messages, read what the hub says."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: BaseModel | dict[str, Any] | str) -> None:
        if isinstance(message, BaseModel):
            await self.ws.send(message.model_dump_json())
        elif isinstance(message, dict):
            await self.ws.send(json.dumps(message))
        else:
            await self.ws.send(message)

    async def next(self, within_s: float = 5.0) -> BaseModel:
        raw = await asyncio.wait_for(self.ws.recv(), within_s)
        message: BaseModel = to_side.validate_json(raw)
        return message

    async def expect(self, kind: type[BaseModel], within_s: float = 5.0) -> Any:
        """The next message of `kind`, skipping position updates (`Queued`) in between."""
        while True:
            message = await self.next(within_s)
            if isinstance(message, kind):
                return message
            if message.model_dump().get("type") != "queued":
                raise AssertionError(f"expected {kind.__name__}, got {message!r}")

    async def silent(self, for_s: float) -> None:
        try:
            got = await asyncio.wait_for(self.ws.recv(), for_s)
        except TimeoutError:
            return
        raise AssertionError(f"expected nothing, got {got!r}")


@dataclass
class ServedHub:
    url: str
    settings: Settings
    service: InterpretingService

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def add_user(self, username: str, role: Role, display_name: str | None = None) -> None:
        engine = make_engine(self.settings.database_url)
        try:
            with make_sessionmaker(engine)() as session:
                user = create_user(session, username=username, role=role, password=PASSWORD)
                user.display_name = display_name
                session.commit()
        finally:
            engine.dispose()

    @asynccontextmanager
    async def terminal(self, device_id: str, token: str | None = None) -> AsyncIterator[Side]:
        secret = self.settings.hub.secret_key.get_secret_value()
        token = terminal_token(secret, device_id) if token is None else token
        url = f"{self.ws_url}/api/v1/interpreting/terminal/ws?device={device_id}&token={token}"
        async with connect(url) as ws:
            yield Side(ws)

    async def cookie(self, username: str) -> str:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            return "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    @asynccontextmanager
    async def console(self, username: str, cookie: str | None = None) -> AsyncIterator[Side]:
        cookie = cookie or await self.cookie(username)
        url = f"{self.ws_url}/api/v1/interpreting/console/ws"
        async with connect(url, additional_headers={"Cookie": cookie}) as ws:
            yield Side(ws)


@asynccontextmanager
async def served_hub(
    database_url: str, tmp_path: Path, broker: RunningBroker | None = None, **interpreting: Any
) -> AsyncIterator[ServedHub]:
    settings = hub_settings(database_url=database_url, tmp_path=tmp_path, broker=broker, port=0)
    if broker is None:
        # run_hub starts the bridge: give it a broker address nobody answers;
        # it keeps retrying in the background while the sockets are tested.
        settings = settings.model_copy(
            update={"mqtt": settings.mqtt.model_copy(update={"port": 9})}
        )
    settings = settings.model_copy(
        update={"interpreting": settings.interpreting.model_copy(update=interpreting)}
    )
    await asyncio.to_thread(upgrade_database, settings)
    app = create_app(settings)
    from central.server import run_hub

    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_hub(settings, ready=ready.set_result, app=app))
    try:
        url = await asyncio.wait_for(ready, 15)
        yield ServedHub(url, settings, interpreting_of(app))
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
