"""A TM1637 on gpiozero's mock pins: decodes what the driver clocks out, as the chip would.

`Tm1637Chip` watches every change of the CLK and DIO mock pins in the order
they happen (`ChipPin`, a `MockPin` that reports its changes): a start is DIO
falling while CLK is high, a stop DIO rising while CLK is high, a data bit
is DIO sampled on CLK's rising edge, least significant bit first. After
eight bits it pulls DIO low once the driver releases it (the ACK), and lets
go on the ninth clock's falling edge. It keeps every command (the bytes
between a start and a stop), the display memory, the display switch and
brightness, and the history of what was lit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin  # type: ignore[import-untyped]

# Segment patterns from the TM1637 datasheet's 7-segment layout (bit 0 = a … bit 6 = g).
DATASHEET = {
    " ": 0x00, "-": 0x40, "0": 0x3F, "1": 0x06, "2": 0x5B, "3": 0x4F, "4": 0x66,
    "5": 0x6D, "6": 0x7D, "7": 0x07, "8": 0x7F, "9": 0x6F, "A": 0x77, "b": 0x7C,
    "C": 0x39, "d": 0x5E, "E": 0x79, "F": 0x71, "H": 0x76, "J": 0x1E, "L": 0x38,
    "P": 0x73, "U": 0x3E, "t": 0x78,
}  # fmt: skip
_READ = {v: k for k, v in reversed(DATASHEET.items())}


def read(segments: list[int] | tuple[int, ...]) -> str:
    """Segment bytes back to text (``?`` for a pattern not in `DATASHEET`)."""
    return "".join(_READ.get(b, "?") for b in segments)


@dataclass
class Tm1637Chip:
    ack: bool = True
    clk: bool = False  # a mock pin starts low
    dio: bool = False
    commands: list[list[int]] = field(default_factory=list)
    bits: list[list[int]] = field(default_factory=list)
    """The bits of each byte as clocked in (LSB first), to check the order."""
    memory: list[int] = field(default_factory=lambda: [0] * 6)
    lit: bool = False
    brightness: int | None = None
    history: list[tuple[str, bool]] = field(default_factory=list)
    """(the four digits, lit) after every command that changed either."""
    acking: bool = False
    dio_pin: Any = None
    _in_frame: bool = False
    _bits: list[int] = field(default_factory=list)
    _bytes: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        return read(self.memory[:4])

    @property
    def shown(self) -> str:
        """What a person sees: the digits when lit, else nothing."""
        return self.text if self.lit else ""

    def changed(self, role: str, state: bool) -> None:
        if role == "clk":
            rising = state and not self.clk
            self.clk = state
            if not self._in_frame:
                return
            if rising and len(self._bits) < 8:
                self._bits.append(int(self.dio))
            elif not state and len(self._bits) == 8 and not self.acking:
                self.acking = True  # the eighth bit is in: answer on the ninth clock
                self._pull_low()
            elif not state and self.acking:
                self.acking = False
                self._bytes.append(sum(b << i for i, b in enumerate(self._bits)))
                self.bits.append(self._bits)
                self._bits = []
                self._release()
            return
        falling = self.dio and not state
        self.dio = state
        if self.clk and falling and not self.acking:
            self._in_frame, self._bits, self._bytes = True, [], []
        elif self.clk and state and self._in_frame and not self.acking:
            self._in_frame = False
            self._apply(self._bytes)

    def _pull_low(self) -> None:
        pin = self.dio_pin
        if self.ack and pin is not None and pin.function == "input":
            pin.drive_low()

    def _release(self) -> None:
        pin = self.dio_pin
        if pin is not None and pin.function == "input":
            pin.drive_high()  # the module's pull-up

    def _apply(self, data: list[int]) -> None:
        if not data:
            return
        self.commands.append(list(data))
        before = (self.text, self.lit)
        first = data[0]
        if first & 0xC0 == 0xC0:
            for i, byte in enumerate(data[1:]):
                self.memory[(first & 0x07) + i] = byte
        elif first & 0xF0 == 0x80:
            self.lit = bool(first & 0x08)
            self.brightness = first & 0x07
        if (self.text, self.lit) != before:
            self.history.append((self.text, self.lit))


class ChipPin(MockPin):  # type: ignore[misc]
    """A mock pin that tells the chip about each of its changes."""

    def __init__(self, factory: Any, info: Any, chip: Tm1637Chip, role: str) -> None:
        self.chip, self.role = chip, role
        super().__init__(factory, info)
        if role == "dio":
            chip.dio_pin = self

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        if changed:
            self.chip.changed(self.role, value)
        return changed

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        if self.role == "dio" and self.chip.acking:
            self.chip._pull_low()  # the chip holds DIO low over the pull-up


def wire_chip(pins: MockFactory, clk: int, dio: int, *, ack: bool = True) -> Tm1637Chip:
    """A chip on `clk` and `dio` of the mock factory (before the driver takes them)."""
    chip = Tm1637Chip(ack=ack)
    pins.pin(clk, pin_class=ChipPin, chip=chip, role="clk")
    pins.pin(dio, pin_class=ChipPin, chip=chip, role="dio")
    return chip
