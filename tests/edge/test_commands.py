"""Commands get an answer the hub can rely on: received, then exactly one outcome."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel

from broker.contract import (
    MAX_PAYLOAD_BYTES,
    Command,
    DeviceConfig,
    DeviceKind,
    ResultStatus,
    encode,
    utcnow,
)
from edge.commands import HandlerResult, NoArgs
from edge.ports.screen import SimScreen
from tests.edge.conftest import StartDevice
from tests.edge.support import TinyHub, wait_until


class Counter:
    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self, _args: NoArgs) -> HandlerResult:
        self.runs += 1
        return {"runs": self.runs}


async def test_every_kind_answers_ping_with_its_own_time(
    hub: TinyHub, start_device: StartDevice
) -> None:
    for n, kind in enumerate(DeviceKind):
        await start_device(f"dev-{n}", kind)
        cid = hub.command(f"dev-{n}", "ping")
        final = await hub.wait_final(cid)
        assert hub.statuses_of(cid) == [ResultStatus.RECEIVED, ResultStatus.SUCCEEDED]
        assert final.data["pong"] is True
        assert "device_time" in final.data


async def test_identify_shows_the_device_on_its_screen(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device("kiosk-01", DeviceKind.KIOSK)

    final = await hub.wait_final(hub.command("kiosk-01", "identify", {"seconds": 2}))

    assert final.status is ResultStatus.SUCCEEDED
    screen = agent.ports.screen
    assert isinstance(screen, SimScreen)
    assert screen.shown == ["设备识别：kiosk-01"]


async def test_command_past_its_deadline_is_expired_and_not_run(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device()
    count = Counter()
    agent.register("count", count, NoArgs)

    cid = hub.command("caller-01", "count", deadline_s=-1)
    final = await hub.wait_final(cid)

    assert hub.statuses_of(cid) == [ResultStatus.RECEIVED, ResultStatus.EXPIRED]
    assert "deadline" in final.detail
    assert count.runs == 0


async def test_a_repeated_command_id_returns_the_first_result_without_running_again(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device()
    count = Counter()
    agent.register("count", count, NoArgs)

    cid = hub.command("caller-01", "count")
    first = await hub.wait_final(cid)
    hub.command("caller-01", "count", command_id=cid)
    again = await hub.wait_final(cid, count=2)

    assert count.runs == 1
    assert again == first
    assert hub.statuses_of(cid) == [
        ResultStatus.RECEIVED,
        ResultStatus.SUCCEEDED,
        ResultStatus.SUCCEEDED,
    ]


async def test_unknown_command_and_bad_args_are_rejected_with_a_reason(
    hub: TinyHub, start_device: StartDevice
) -> None:
    await start_device()

    unknown = await hub.wait_final(hub.command("caller-01", "self_destruct"))
    bad = await hub.wait_final(hub.command("caller-01", "identify", {"seconds": "long"}))
    extra = await hub.wait_final(hub.command("caller-01", "ping", {"loud": True}))

    assert unknown.status is ResultStatus.REJECTED
    assert "unknown command" in unknown.detail
    assert bad.status is ResultStatus.REJECTED
    assert "seconds" in bad.detail
    assert extra.status is ResultStatus.REJECTED


async def test_a_handler_that_raises_reports_failed_with_the_reason(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device()

    class PrintArgs(BaseModel):
        text: str

    async def jammed(args: PrintArgs) -> HandlerResult:
        raise RuntimeError(f"paper jam while printing {args.text}")

    agent.register("print", jammed, PrintArgs)

    final = await hub.wait_final(hub.command("caller-01", "print", {"text": "A001"}))

    assert final.status is ResultStatus.FAILED
    assert "paper jam while printing A001" in final.detail


async def test_malformed_oversized_and_wrong_version_payloads_are_rejected_and_device_lives(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device()
    ping_topic = hub.topics.command("caller-01", "ping")
    future = Command(command_id="from-the-future", deadline=utcnow() + timedelta(seconds=5))
    wrong_version = encode(future).replace(b'"v":1', b'"v":2')

    hub.send_raw(ping_topic, b"{not json")
    hub.send_raw(ping_topic, b"{" + b" " * MAX_PAYLOAD_BYTES + b"}")
    hub.send_raw(ping_topic, wrong_version)
    hub.send_raw(hub.topics.config("caller-01"), b'{"config_version": -1}')
    await wait_until(lambda: agent.rejected == 4, what="four rejections")

    # The hub hears why its command was refused when the id could be read.
    reply = await hub.wait_final("from-the-future")
    assert reply.status is ResultStatus.REJECTED
    assert "schema version" in reply.detail
    assert any("config_version" in r for r in agent.rejections)
    # ...and the device still answers.
    pong = await hub.wait_final(hub.command("caller-01", "ping"))
    assert pong.status is ResultStatus.SUCCEEDED


async def test_device_keeps_the_newest_config_and_remembers_it_after_restart(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device()
    seen: list[int] = []
    agent.on_config(lambda c: seen.append(c.config_version))
    config_topic = hub.topics.config("caller-01")

    hub.publish(config_topic, DeviceConfig(config_version=2, settings={"window": 3}), retain=True)
    await wait_until(lambda: seen == [2], what="config 2")
    hub.publish(config_topic, DeviceConfig(config_version=1, settings={"window": 9}), retain=True)
    await asyncio.sleep(0.3)
    assert seen == [2], "an older config is ignored"

    await agent.stop()
    # A restart starts from the cached config before the hub says anything.
    restarted = await start_device()
    assert restarted.config is not None
    assert restarted.config.settings == {"window": 3}
