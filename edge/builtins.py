"""Commands every device kind answers: ``ping`` and ``identify``."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from broker.contract import utcnow
from edge.commands import HandlerResult, NoArgs
from edge.kinds.base import DeviceApi

log = logging.getLogger(__name__)


class IdentifyArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    seconds: float = Field(5.0, gt=0, le=60, description="how long to blink / show")


def register_builtins(device: DeviceApi) -> None:
    async def ping(_args: NoArgs) -> HandlerResult:
        return {"pong": True, "device_time": utcnow().isoformat()}

    async def identify(args: IdentifyArgs) -> HandlerResult:
        # Whoever installs a hall of identical boxes needs to know which one is which.
        log.info("%s: identify for %.0fs", device.device_id, args.seconds)
        led, screen = device.ports.led, device.ports.screen
        if led is not None:
            led.blink(on_s=0.25, off_s=0.25, times=max(1, round(args.seconds * 2)))
        if screen is not None:
            screen.show(f"设备识别：{device.device_id}", seconds=args.seconds)
        return {"led": led is not None, "screen": screen is not None}

    device.register("ping", ping, NoArgs)
    device.register("identify", identify, IdentifyArgs)
