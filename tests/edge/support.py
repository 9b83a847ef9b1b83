"""Test-side stand-ins for the hub and helpers to build devices.

`TinyHub` is test code, not the hub: it speaks the contract over a real
broker as the ``hub`` user, records what devices publish, acknowledges events
and sends commands, so edge tests need nothing from `central/`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from anxin.settings import DeviceSettings, MqttSettings, Settings
from broker.contract import (
    HUB_USER,
    Command,
    CommandResult,
    DeviceKind,
    DeviceStatus,
    Event,
    EventAck,
    Health,
    HubStatus,
    Payload,
    ResultStatus,
    Topics,
    decode,
    encode,
    new_id,
    utcnow,
)
from broker.session import Backoff, MqttSession
from tests.conftest import RunningBroker


async def wait_until(check: Callable[[], bool], *, within: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what or check}")
        await asyncio.sleep(0.02)


class TinyHub:
    def __init__(self, broker: RunningBroker, *, auto_ack: bool = True) -> None:
        self.topics = Topics(broker.hall)
        self.auto_ack = auto_ack
        self.events: list[tuple[str, Event]] = []
        self.results: list[CommandResult] = []
        self.statuses: list[tuple[str, DeviceStatus]] = []
        self.health: list[tuple[str, Health]] = []
        self.session = MqttSession(
            client_id=f"hub-{new_id()[:8]}",
            address=broker.address(HUB_USER),
            subscriptions=self.topics.hub_subscriptions(),
            on_message=self._on_message,
            backoff=Backoff(base_s=0.1, cap_s=0.5),
        )

    async def start(self) -> None:
        await self.session.start()
        await self.session.wait_connected(5)
        await asyncio.sleep(0.1)  # let SUBSCRIBE land before devices talk

    async def stop(self) -> None:
        await self.session.stop()

    def _on_message(self, topic: str, raw: bytes, retained: bool) -> None:
        msg = decode(self.topics, topic, raw, retained=retained)
        device = msg.parsed.device_id or ""
        p = msg.payload
        if isinstance(p, Event):
            self.events.append((device, p))
            if self.auto_ack:
                self.publish(self.topics.ack(device), EventAck(boot_id=p.boot_id, seq=p.seq))
        elif isinstance(p, CommandResult):
            self.results.append(p)
        elif isinstance(p, DeviceStatus):
            self.statuses.append((device, p))
        elif isinstance(p, Health):
            self.health.append((device, p))

    def publish(self, topic: str, payload: Payload, *, retain: bool = False) -> None:
        assert self.session.publish(topic, encode(payload), qos=1, retain=retain)

    def send_raw(self, topic: str, raw: bytes) -> None:
        assert self.session.publish(topic, raw, qos=1)

    def set_online(self, online: bool) -> None:
        self.publish(self.topics.hub_status(), HubStatus(online=online), retain=True)

    def command(
        self,
        device_id: str,
        name: str,
        args: dict[str, Any] | None = None,
        *,
        command_id: str | None = None,
        deadline_s: float = 5.0,
    ) -> str:
        cmd = Command(
            command_id=command_id or new_id(),
            deadline=utcnow() + timedelta(seconds=deadline_s),
            args=args or {},
        )
        self.publish(self.topics.command(device_id, name), cmd)
        return cmd.command_id

    def statuses_of(self, command_id: str) -> list[ResultStatus]:
        return [r.status for r in self.results if r.command_id == command_id]

    def final(self, command_id: str) -> CommandResult:
        finals = [
            r
            for r in self.results
            if r.command_id == command_id and r.status is not ResultStatus.RECEIVED
        ]
        assert finals, f"no final result for {command_id}"
        return finals[-1]

    async def wait_final(self, command_id: str, *, count: int = 1) -> CommandResult:
        def done() -> bool:
            finals = [s for s in self.statuses_of(command_id) if s is not ResultStatus.RECEIVED]
            return len(finals) >= count

        await wait_until(done, what=f"final result of {command_id}")
        return self.final(command_id)

    def last_status(self, device_id: str) -> DeviceStatus | None:
        mine = [s for d, s in self.statuses if d == device_id]
        return mine[-1] if mine else None

    def seqs(self, device_id: str) -> list[int]:
        return [e.seq for d, e in self.events if d == device_id]


def device_settings(
    broker: RunningBroker,
    data_dir: Path,
    device_id: str,
    kind: DeviceKind = DeviceKind.CALLER,
    **device: Any,
) -> Settings:
    """Settings as the CLI would fill them for a simulated device."""
    address = broker.address(device_id)
    return Settings(
        hall=broker.hall,
        data_dir=data_dir,
        mqtt=MqttSettings(
            host=address.host,
            port=address.port,
            username=address.username,
            password=address.password,
            keepalive_s=5,
        ),
        device=DeviceSettings(
            id=device_id,
            kind=kind,
            sim=True,
            **({"heartbeat_s": 0.3, "resend_s": 0.4} | device),
        ),
    )
