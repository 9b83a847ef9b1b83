"""Build the ports a device kind needs from its configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, Literal

from anxin.settings import GpioButtonsPort, GpioLedPort, PortsSettings
from edge.ports.buttons import Buttons, GpioButtons, SimButtons
from edge.ports.camera import Camera, SimCamera
from edge.ports.led import GpioLed, Led, SimLed
from edge.ports.printer import EscposPrinter, Printer, SimPrinter
from edge.ports.screen import Screen, SimScreen
from edge.ports.serial_board import SerialBoard, SimSerialBoard
from edge.ports.speaker import SimSpeaker, Speaker
from printer.settings import PrinterSettings

log = logging.getLogger(__name__)

PortName = Literal["buttons", "led", "printer", "serial_board", "camera", "screen", "speaker"]


@dataclass
class Ports:
    """The ports of one device; a port the kind does not use stays None."""

    buttons: Buttons | None = None
    led: Led | None = None
    printer: Printer | None = None
    serial_board: SerialBoard | None = None
    camera: Camera | None = None
    screen: Screen | None = None
    speaker: Speaker | None = None

    def _present(self) -> list[tuple[str, Any]]:
        pairs = [(f.name, getattr(self, f.name)) for f in fields(self)]
        return [(name, port) for name, port in pairs if port is not None]

    def states(self) -> dict[str, str]:
        """Port name -> state, for the heartbeat."""
        out: dict[str, str] = {}
        for name, port in self._present():
            try:
                out[name] = str(port.state)
            except Exception as exc:  # a faulty port must not stop the heartbeat
                out[name] = f"error: {exc}"
        return out

    def close(self) -> None:
        for name, port in self._present():
            try:
                port.close()
            except Exception:
                log.exception("closing port %s failed", name)


def build_ports(
    needed: Iterable[PortName],
    config: PortsSettings,
    *,
    sim: bool,
    pin_factory: Any = None,
) -> Ports:
    """Real or simulated adapters for the `needed` ports.

    With `sim` every port is simulated whatever the configuration says.
    `pin_factory` is handed to gpiozero (tests pass its ``MockFactory``).
    """
    ports = Ports()
    for name in needed:
        if name == "buttons":
            b = config.buttons
            ports.buttons = (
                GpioButtons(b.pins, bounce_s=b.bounce_s, pin_factory=pin_factory)
                if isinstance(b, GpioButtonsPort) and not sim
                else SimButtons()
            )
        elif name == "led":
            led = config.led
            ports.led = (
                GpioLed(led.pin, pin_factory=pin_factory)
                if isinstance(led, GpioLedPort) and not sim
                else SimLed()
            )
        elif name == "printer":
            p = config.printer
            ports.printer = (
                EscposPrinter(p) if isinstance(p, PrinterSettings) and not sim else SimPrinter()
            )
        elif name == "serial_board":
            ports.serial_board = SimSerialBoard()
        elif name == "camera":
            ports.camera = SimCamera()
        elif name == "screen":
            ports.screen = SimScreen()
        elif name == "speaker":
            ports.speaker = SimSpeaker()
    return ports
