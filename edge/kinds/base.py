"""What a device kind declares, and what the agent offers it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from anxin.settings import Settings
from broker.contract import (
    Channel,
    DeviceConfig,
    DeviceKind,
    Event,
    HallState,
    Message,
    Payload,
    Topics,
)
from edge.commands import HandlerResult
from edge.ports.factory import PortName, Ports

A = TypeVar("A", bound=BaseModel)


class DeviceApi(Protocol):
    """The agent as a kind sees it (implemented by `edge.agent.DeviceAgent`)."""

    @property
    def device_id(self) -> str: ...

    @property
    def ports(self) -> Ports: ...

    @property
    def config(self) -> DeviceConfig | None:
        """The latest configuration from the hub (cached across reboots)."""
        ...

    def emit(self, name: str, data: dict[str, Any], *, event_id: str | None = None) -> Event:
        """Store an event durably; it reaches the hub when the hub is online."""
        ...

    def register(
        self, name: str, handler: Callable[[A], Awaitable[HandlerResult]], args: type[A]
    ) -> None:
        """Answer command `name` (in addition to ``ping`` and ``identify``)."""
        ...

    def on_config(self, callback: Callable[[DeviceConfig], None]) -> None: ...

    def on_hall(self, callback: Callable[[HallState], None]) -> None: ...

    # --- for kinds that talk to the hub beyond events (the kiosk) ---------------

    @property
    def settings(self) -> Settings | None:
        """The settings the device was built from (None when built by hand)."""
        ...

    @property
    def topics(self) -> Topics: ...

    @property
    def data_dir(self) -> Path:
        """The device's own directory (its SQLite file lives here)."""
        ...

    @property
    def hub_online(self) -> bool:
        """Connected and the retained hub status says online."""
        ...

    @property
    def board(self) -> dict[str, Payload]:
        """Retained typed hall state by topic (calls, windows, queues, matters manifest)."""
        ...

    def on_channel(self, channel: Channel, callback: Callable[[Message], None]) -> None:
        """Also for channels the agent handles itself (``hall/queue/…``): after it."""
        ...

    def send(self, topic: str, body: bytes, *, qos: int = 0) -> bool:
        """Publish now, not through the outbox (False when not connected)."""
        ...

    def port_state(self, name: str, read: Callable[[], str]) -> None:
        """Report `read()` as the state of port `name` in the heartbeat."""
        ...


@dataclass(frozen=True)
class KindSpec:
    """One device kind: the ports it uses and how it plugs into the agent.

    `setup` runs once on the event loop when the agent starts, before it
    connects; it registers handlers and port callbacks.
    """

    kind: DeviceKind
    ports: tuple[PortName, ...]
    setup: Callable[[DeviceApi], None]
    summary: str
