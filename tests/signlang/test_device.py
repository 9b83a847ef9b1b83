"""The ``signlang`` device kind on a real agent, broker and hub: the token
arrives in the retained config, the terminal comes online for calls, and the
camera runs only while a call is wanted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from anxin.settings import Settings
from broker.credentials import mqtt_password
from edge.kinds.signlang import terminal_of
from edge.ports.camera import SimCamera
from edge.runner import make_agent
from signlang_terminal.viewmodel import Phase
from tests.conftest import RunningBroker
from tests.interpreting.conftest import served_hub
from tests.signlang.netns import NamespaceLoop
from tests.signlang.test_call_through_hub import interpreter, until

pytestmark = pytest.mark.timeout(120)


async def test_signlang_device_gets_its_token_and_places_a_call(
    mosquitto: RunningBroker, tmp_path: Path, inside: NamespaceLoop
) -> None:
    db = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    async with served_hub(db, tmp_path, mosquitto) as hub:
        device_id = "signlang-07"
        settings = Settings(
            hall=mosquitto.hall,
            data_dir=tmp_path / "device",
            mqtt={"host": mosquitto.host, "port": mosquitto.port, "username": device_id,
                  "password": mqtt_password(mosquitto.secret, device_id)},
            device={"id": device_id, "kind": "signlang", "sim": True},
            signlang={"hub_url": hub.url},
        )  # fmt: skip
        agent = make_agent(settings)
        await agent.start()
        try:
            terminal = terminal_of(device_id)
            vm = terminal.vm
            await until(lambda: vm.phase is Phase.IDLE, 15, "online for calls (token received)")
            camera = agent.ports.camera
            assert isinstance(camera, SimCamera)
            assert camera.state == "idle"
            async with interpreter(hub, inside):
                await asyncio.sleep(0.2)
                vm.press_call()
                assert camera.state == "capturing"
                await until(lambda: vm.phase is Phase.IN_CALL, 10, "the call")
                vm.press_end()
                await until(lambda: camera.state == "idle", 5, "camera off after the call")
            assert camera.history == ["start", "stop"]
        finally:
            await agent.stop()
            await terminal_of(device_id).terminal.stop()
