"""`anxin hub` serves on a free port, announces itself, and says goodbye when stopped."""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path

import httpx
import pytest

from anxin.logs import configure_logging
from broker.contract import HubStatus, Topics, decode
from broker.session import MqttSession
from central.server import run_hub
from tests.central.conftest import hub_settings
from tests.conftest import RunningBroker


async def retained_hub_status(broker: RunningBroker) -> HubStatus | None:
    topics = Topics(broker.hall)
    got: asyncio.Queue[HubStatus] = asyncio.Queue()

    def on_message(topic: str, payload: bytes, retained: bool) -> None:
        if topic == topics.hub_status() and payload:
            message = decode(topics, topic, payload)
            assert isinstance(message.payload, HubStatus)
            got.put_nowait(message.payload)

    observer = MqttSession(
        client_id="observer",
        address=broker.address("hub"),
        subscriptions=[(topics.hub_status(), 1)],
        on_message=on_message,
    )
    await observer.start()
    try:
        return await asyncio.wait_for(got.get(), 2)
    except TimeoutError:
        return None
    finally:
        await observer.stop()


async def test_the_hub_serves_on_a_free_port_and_publishes_online_then_offline(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    settings = hub_settings(
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        tmp_path=tmp_path,
        broker=mosquitto,
        port=0,
    )
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_hub(settings, ready=ready.set_result))
    url = await asyncio.wait_for(ready, 15)
    assert url.startswith("http://127.0.0.1:")
    assert not url.endswith(":0")

    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(100):
            if (await client.get("/healthz")).json()["mqtt"]:
                break
            await asyncio.sleep(0.05)
        assert (await client.get("/healthz")).json() == {"ok": True, "mqtt": True}
        assert (await client.get("/login")).status_code == 200
    online = await retained_hub_status(mosquitto)
    assert online is not None
    assert online.online
    # The start-up heap is out of the collector's way while serving (no
    # 100-240 ms full collections under load), and handed back on stop.
    assert gc.get_freeze_count() > 10_000

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gc.get_freeze_count() == 0
    offline = await retained_hub_status(mosquitto)
    assert offline is not None
    assert not offline.online


def test_json_logs_are_one_object_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = hub_settings(database_url="sqlite://", tmp_path=tmp_path).model_copy(
        update={"log_format": "json"}
    )
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(settings)
        logging.getLogger("central.test").warning("设备 %s 离线", "kiosk-01", extra={"device": "k"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert '"msg": "设备 kiosk-01 离线"' in line
    assert '"device": "k"' in line
    assert '"level": "warning"' in line
