"""Entry points: build a device agent from settings, or run one until cancelled."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import TypeAdapter, ValidationError

from anxin.settings import Settings
from broker.contract import DeviceId, DeviceKind, Topics
from broker.session import Backoff, BrokerAddress
from edge.agent import DeviceAgent
from edge.health import SystemProbe
from edge.kinds import KINDS
from edge.ports.factory import Ports, build_ports

log = logging.getLogger(__name__)

_DEVICE_ID: TypeAdapter[str] = TypeAdapter(DeviceId)


def make_agent(
    settings: Settings,
    *,
    device_id: str | None = None,
    kind: DeviceKind | None = None,
    address: BrokerAddress | None = None,
    ports: Ports | None = None,
    pin_factory: Any = None,
    probe: SystemProbe | None = None,
    backoff: Backoff | None = None,
    hold_db_open: bool = True,
) -> DeviceAgent:
    """Build (but do not start) the agent of one device.

    `device_id`, `kind` and `address` default to ``settings.device.id``,
    ``settings.device.kind`` and ``settings.mqtt.address()``. `ports` replaces
    the configured adapters (tests hand in simulated ones they keep a handle
    on); otherwise they are built from ``settings.device.ports``, with
    `pin_factory` passed to gpiozero.

    Many devices in one process (the benchmark): share one `probe` and pass
    ``hold_db_open=False``, or paho's ``select()`` runs out of descriptors
    below 1024 (see `edge.durable`).
    """
    device_id = device_id or settings.device.id
    kind = kind or settings.device.kind
    if device_id is None or kind is None:
        raise ValueError("a device needs an id and a kind (settings.device.id / .kind)")
    try:
        device_id = _DEVICE_ID.validate_python(device_id)
    except ValidationError:
        raise ValueError(f"invalid device id {device_id!r}: use a-z, 0-9, - and _") from None
    spec = KINDS[kind]
    if ports is None:
        ports = build_ports(
            spec.ports,
            settings.device.ports,
            sim=settings.device.sim,
            pin_factory=pin_factory,
            data_dir=settings.data_dir / "devices" / device_id,
        )
    return DeviceAgent(
        device_id=device_id,
        spec=spec,
        topics=Topics(settings.hall),
        address=address or settings.mqtt.address(),
        data_dir=settings.data_dir / "devices" / device_id,
        ports=ports,
        heartbeat_s=settings.device.heartbeat_s,
        resend_s=settings.device.resend_s,
        probe=probe,
        backoff=backoff,
        hold_db_open=hold_db_open,
        settings=settings,
    )


async def run_device(settings: Settings) -> None:
    """Run the device described by ``settings.device`` until cancelled; then
    publish an explicit offline status and close everything."""
    agent = make_agent(settings)
    log.info(
        "device %s (%s%s) starting; broker %s:%d",
        agent.device_id,
        agent.kind.value,
        ", simulated" if settings.device.sim else "",
        settings.mqtt.host,
        settings.mqtt.port,
    )
    await agent.run()
