"""A small test-side device speaking the contract over a real broker.

Not the edge agent (that lives in `edge/`): just enough of a device to give
the hub births, deaths, heartbeats and events, and to answer commands the way
a test needs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from broker.contract import (
    Command,
    CommandResult,
    DeviceConfig,
    DeviceKind,
    DeviceState,
    DeviceStatus,
    Event,
    EventAck,
    Health,
    ResultStatus,
    Topics,
    decode,
    encode,
    new_id,
    utcnow,
)
from broker.session import MqttSession, Will
from tests.conftest import RunningBroker

Answer = Literal["succeed", "fail", "silent"]


class FakeDevice:
    def __init__(
        self,
        broker: RunningBroker,
        device_id: str,
        *,
        kind: DeviceKind = DeviceKind.KIOSK,
        connection: int = 1,
        answer: Answer = "succeed",
        version: str = "1.0.0",
        birth: bool = True,
    ) -> None:
        self.id = device_id
        self.kind = kind
        self.connection = connection
        self.answer: Answer = answer
        self.version = version
        self.birth = birth
        self.boot_id = new_id()
        self.topics = Topics(broker.hall)
        self.acks: asyncio.Queue[EventAck] = asyncio.Queue()
        self.commands: list[Command] = []
        self.configs: list[DeviceConfig] = []
        self.cleared: set[str] = set()  # own topics whose retained message was deleted
        self.session = MqttSession(
            client_id=device_id,
            address=broker.address(device_id),
            subscriptions=self.topics.device_subscriptions(device_id),
            on_message=self._on_message,
            on_connect=self._birth,
            will_factory=lambda: Will(self.topics.status(device_id), encode(self.status(False))),
        )

    def status(self, online: bool, *, connection: int | None = None) -> DeviceStatus:
        return DeviceStatus(
            state=DeviceState.ONLINE if online else DeviceState.OFFLINE,
            kind=self.kind,
            connection=self.connection if connection is None else connection,
            boot_id=self.boot_id,
            version=self.version,
        )

    async def start(self) -> FakeDevice:
        await self.session.start()
        await self.session.wait_connected(5)
        return self

    async def _birth(self) -> None:
        if self.birth:
            self.publish_status(online=True)

    def publish_status(self, *, online: bool, connection: int | None = None) -> None:
        payload = encode(self.status(online, connection=connection))
        assert self.session.publish(self.topics.status(self.id), payload, retain=True)

    def publish_health(self, **figures: float) -> None:
        health = Health(
            uptime_s=figures.get("uptime_s", 12.0),
            cpu_percent=figures.get("cpu_percent", 3.5),
            memory_percent=figures.get("memory_percent", 41.0),
            version=self.version,
            outbox_depth=0,
            ports={"printer": "ok"},
        )
        assert self.session.publish(self.topics.health(self.id), encode(health), qos=0)

    def event(self, seq: int, name: str = "ticket_issued") -> tuple[str, bytes]:
        event = Event(
            event_id=f"{self.boot_id[:8]}-{seq}",
            boot_id=self.boot_id,
            seq=seq,
            ts=utcnow(),
            data={"ticket": f"A{seq:03d}"},
        )
        return self.topics.event(self.id, name), encode(event)

    def publish_raw(self, topic: str, payload: bytes) -> None:
        assert self.session.publish(topic, payload, qos=1)

    async def go_offline(self) -> None:
        """What a crash looks like to the hub: the offline will, then the connection ends."""
        final = (self.topics.status(self.id), encode(self.status(False)))
        await self.session.stop(final=final)

    async def stop(self) -> None:
        await self.session.stop()

    async def _on_message(self, topic: str, raw: bytes, retained: bool) -> None:
        if not raw:
            self.cleared.add(topic)
            return
        payload = decode(self.topics, topic, raw, retained=retained).payload
        if isinstance(payload, EventAck):
            await self.acks.put(payload)
        elif isinstance(payload, DeviceConfig):
            self.configs.append(payload)
        elif isinstance(payload, Command):
            self.commands.append(payload)
            name = topic.rsplit("/", 1)[1]
            if self.answer == "silent":
                return
            status = ResultStatus.SUCCEEDED if self.answer == "succeed" else ResultStatus.FAILED
            result = CommandResult(
                command_id=payload.command_id,
                name=name,
                status=status,
                detail="" if status == ResultStatus.SUCCEEDED else "打印机缺纸",
                data={"pong": True},
            )
            self.session.publish(self.topics.result(self.id), encode(result))


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    within_s: float = 5.0,
    what: str = "condition",
) -> None:
    """Poll until `check` holds: the hub processes MQTT asynchronously."""
    deadline = time.monotonic() + within_s
    while True:
        outcome = check()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
