"""Fixtures of the edge tests: a test-side hub and started devices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from broker.contract import DeviceKind
from broker.session import Backoff
from edge.agent import DeviceAgent
from edge.ports.factory import Ports
from edge.runner import make_agent
from tests.conftest import RunningBroker
from tests.edge.support import TinyHub, device_settings

StartDevice = Callable[..., Awaitable[DeviceAgent]]


@pytest.fixture
async def hub(mqtt_broker: RunningBroker) -> AsyncIterator[TinyHub]:
    tiny = TinyHub(mqtt_broker)
    await tiny.start()
    try:
        yield tiny
    finally:
        await tiny.stop()


@pytest.fixture
async def start_device(mqtt_broker: RunningBroker, tmp_path: Path) -> AsyncIterator[StartDevice]:
    """Start a simulated device against the test broker; stopped at teardown."""
    running: list[DeviceAgent] = []

    async def start(
        device_id: str = "caller-01",
        kind: DeviceKind = DeviceKind.CALLER,
        *,
        ports: Ports | None = None,
        pin_factory: Any = None,
        **device: Any,
    ) -> DeviceAgent:
        settings = device_settings(mqtt_broker, tmp_path, device_id, kind, **device)
        agent = make_agent(
            settings, ports=ports, pin_factory=pin_factory, backoff=Backoff(0.1, 0.5)
        )
        await agent.start()
        running.append(agent)
        await asyncio.wait_for(agent.wait_online(), 5)
        return agent

    try:
        yield start
    finally:
        for agent in reversed(running):
            if not agent.stopped:
                await agent.stop()
