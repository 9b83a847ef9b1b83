"""Build the ports a device kind needs from its configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from anxin.settings import (
    CameraScannerPort,
    GpioButtonsPort,
    GpioLedPort,
    OpenCvCameraPort,
    PortsSettings,
    SamIdCardPort,
    SerialScannerPort,
    Tm1637Port,
)
from display.ledboard.settings import LedBoardSettings
from display.voice.settings import VoiceSettings
from edge.ports.buttons import Buttons, GpioButtons, SimButtons
from edge.ports.camera import Camera, OpenCvCamera, SimCamera
from edge.ports.idcard import IdCardReader, SamIdCardReader, SimIdCardReader
from edge.ports.led import GpioLed, Led, SimLed
from edge.ports.printer import EscposPrinter, Printer, SimPrinter
from edge.ports.scanner import CameraScanner, Scanner, SerialScanner, SimScanner
from edge.ports.screen import Screen, SimScreen
from edge.ports.segments import SimTicketDisplay, TicketDisplay, Tm1637Display
from edge.ports.serial_board import SerialBoard, SimSerialBoard
from edge.ports.speaker import SimSpeaker, Speaker
from printer.settings import PrinterSettings

log = logging.getLogger(__name__)

PortName = Literal[
    "buttons",
    "led",
    "printer",
    "serial_board",
    "camera",
    "screen",
    "speaker",
    "scanner",
    "idcard",
    "digits",
]


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
    scanner: Scanner | None = None
    idcard: IdCardReader | None = None
    digits: TicketDisplay | None = None

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
    data_dir: Path | None = None,
) -> Ports:
    """Real or simulated adapters for the `needed` ports.

    With `sim` every port is simulated whatever the configuration says, with
    one exception: a speaker configured for voice keeps its real voice and
    plays into a folder (only the sound card is faked).
    `pin_factory` is handed to gpiozero (tests pass its ``MockFactory``);
    `data_dir` is the device's own folder (voice clips are cached there).
    """
    ports = Ports()
    for name in needed:
        if name == "buttons":
            b = config.buttons
            ports.buttons = (
                GpioButtons(
                    b.pins,
                    bounce_s=b.bounce_s,
                    repeat_guard_s=b.repeat_guard_s,
                    pin_factory=pin_factory,
                )
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
            board = config.serial_board
            ports.serial_board = (
                _led_board(board)
                if isinstance(board, LedBoardSettings) and not sim
                else SimSerialBoard()
            )
        elif name == "camera":
            cam = config.camera
            ports.camera = (
                OpenCvCamera(cam.device, width=cam.width, height=cam.height, fps=cam.fps)
                if isinstance(cam, OpenCvCameraPort) and not sim
                else SimCamera()
            )
        elif name == "screen":
            ports.screen = SimScreen()
        elif name == "speaker":
            voice = config.speaker
            ports.speaker = (
                _voice_speaker(voice, data_dir or Path("var"), sim=sim)
                if isinstance(voice, VoiceSettings)
                else SimSpeaker()
            )
        elif name == "scanner":
            ports.scanner = _scanner(config, sim=sim)
        elif name == "idcard":
            card = config.idcard
            ports.idcard = (
                SamIdCardReader(card.url, baudrate=card.baudrate, poll_s=card.poll_s)
                if isinstance(card, SamIdCardPort) and not sim
                else SimIdCardReader()
            )
        elif name == "digits":
            d = config.digits
            ports.digits = (
                Tm1637Display(d.clk, d.dio, brightness=d.brightness, pin_factory=pin_factory)
                if isinstance(d, Tm1637Port) and not sim
                else SimTicketDisplay()
            )
    return ports


def _led_board(settings: LedBoardSettings) -> SerialBoard:
    from display.ledboard.board import LedBoard  # pyserial: the display extra

    return LedBoard(settings)


def _voice_speaker(settings: VoiceSettings, data_dir: Path, *, sim: bool) -> Speaker:
    from display.voice.speaker import VoiceSpeaker  # numpy: the display extra

    return VoiceSpeaker(settings, data_dir, sim=sim)


def _scanner(config: PortsSettings, *, sim: bool) -> Scanner:
    s = config.scanner
    if sim:
        return SimScanner()
    if isinstance(s, CameraScannerPort):
        return CameraScanner(s.device, width=s.width, height=s.height, repeat_s=s.repeat_s)
    if isinstance(s, SerialScannerPort):
        return SerialScanner(s.url, baudrate=s.baudrate, repeat_s=s.repeat_s)
    return SimScanner()
