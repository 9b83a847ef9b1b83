"""The window caller: buttons at a clerk's window and the window's LED.

A button press becomes a ``button`` event through the durable outbox; the hub
decides what it means (next ticket, recall, pause).
"""

from __future__ import annotations

from broker.contract import DeviceKind
from edge.kinds.base import DeviceApi, KindSpec


def setup(device: DeviceApi) -> None:
    buttons = device.ports.buttons
    if buttons is None:
        return

    def pressed(name: str) -> None:
        device.emit("button", {"button": name})

    buttons.on_press(pressed)


SPEC = KindSpec(DeviceKind.CALLER, ("buttons", "led"), setup, "window caller: buttons and LED")
