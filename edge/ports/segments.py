"""The caller's ticket display: a 4-digit 7-segment module (TM1637).

The port (`TicketDisplay`) knows two kinds of text:

- the **ticket** (`show_ticket`): what the display shows steadily, the
  window's current ticket or a status such as ``----``; a new ticket ends a
  code that is still showing;
- a **code** (`show_code`): shown blinking for some seconds (a refused
  press), after which the ticket is back by itself.

Texts are fitted to four digits: a longer text keeps its **last four**
characters (``A1234`` shows ``1234``: the prefix letter is lost, the number
is not), a shorter one is right-aligned. Each character becomes a segment
pattern by `GLYPHS` (bit 0 is segment a … bit 6 is g; bit 7, the decimal
point or the clock module's colon, is never lit):

- exact: digits ``0``–``9``, letters ``A b C d E F H J L P U`` (upper or
  lower case in, one glyph out), ``-``, ``_`` and space;
- best effort, each distinct from every other glyph: ``G``, ``I`` (the left
  bars, so that it is not a 1), ``K`` (an H with a top bar), ``M`` (∩),
  ``n``, ``o``, ``q``, ``r``, ``t``, ``u`` (for V), ``y``;
- best effort that looks like a digit: ``S`` as ``5``, ``Z`` as ``2`` (on a
  ticket the first character is always its letter);
- not shown: ``W``, ``X`` and any other character light the three bars
  ``≡`` (segments a, d, g) instead of a wrong letter.

Adapters: `Tm1637Display` drives a TM1637 module through two GPIO lines with
gpiozero (bit-banged two-wire protocol, see its docstring); `SimTicketDisplay`
keeps what it was asked to show (tests, ``--sim``, callers without one).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Final, Protocol

WIDTH: Final = 4
BLANK: Final = " " * WIDTH
BLINK_S: Final = 0.3
"""A code is lit this long, then dark this long, until its seconds are over."""

UNSHOWABLE: Final = 0x49  # ≡ (a, d, g): "this character has no glyph"

GLYPHS: Final[dict[str, int]] = {
    " ": 0x00, "-": 0x40, "_": 0x08,
    "0": 0x3F, "1": 0x06, "2": 0x5B, "3": 0x4F, "4": 0x66,
    "5": 0x6D, "6": 0x7D, "7": 0x07, "8": 0x7F, "9": 0x6F,
    # exact
    "A": 0x77, "B": 0x7C, "C": 0x39, "D": 0x5E, "E": 0x79, "F": 0x71,
    "H": 0x76, "J": 0x1E, "L": 0x38, "P": 0x73, "U": 0x3E,
    # best effort, distinct from every other glyph
    "G": 0x3D, "I": 0x30, "K": 0x75, "M": 0x37, "N": 0x54, "O": 0x5C,
    "Q": 0x67, "R": 0x50, "T": 0x78, "V": 0x1C, "Y": 0x6E,
    # best effort, the same as a digit
    "S": 0x6D, "Z": 0x5B,
}  # fmt: skip
"""Segment pattern of each character (upper case; W, X and the rest: `UNSHOWABLE`)."""


def fit(text: str) -> str:
    """The four characters a text shows as: its last four, right-aligned."""
    return text[-WIDTH:].rjust(WIDTH)


def segments(text: str) -> tuple[int, ...]:
    """The segment bytes of `text` as shown (`fit`), left digit first."""
    return tuple(GLYPHS.get(ch.upper(), UNSHOWABLE) for ch in fit(text))


class TicketDisplay(Protocol):
    @property
    def state(self) -> str: ...

    @property
    def text(self) -> str:
        """The four characters showing now (a code while it lasts, else the ticket)."""
        ...

    def show_ticket(self, number: str) -> None:
        """Show `number` (its last four characters) steadily; ends a code."""
        ...

    def show_code(self, code: str, *, seconds: float) -> None:
        """Blink `code` for `seconds`, then show the ticket again."""
        ...

    def clear(self) -> None:
        """Dark: no ticket, no code."""
        ...

    def close(self) -> None: ...


class _Showing:
    """What the display should show, shared by both adapters (not thread-safe alone)."""

    def __init__(self) -> None:
        self.ticket = BLANK
        self.code: str | None = None
        self.code_until = 0.0
        self.code_since = 0.0

    def set_ticket(self, number: str) -> None:
        self.ticket = fit(number)
        self.code = None

    def set_code(self, code: str, seconds: float) -> None:
        now = time.monotonic()
        self.code, self.code_since, self.code_until = fit(code), now, now + max(0.0, seconds)

    def expire(self, now: float) -> bool:
        """Drop a code whose time is over; True when that happened."""
        if self.code is not None and now >= self.code_until:
            self.code = None
            return True
        return False

    def text(self, now: float) -> str:
        self.expire(now)
        return self.code if self.code is not None else self.ticket


class SimTicketDisplay:
    """Keeps every text it was asked to show in ``shown`` (tickets and codes, in order);
    ``text`` is what a real one would show now (a code only for its seconds)."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.codes: list[tuple[str, float]] = []
        self._now = _Showing()
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        return "sim"

    @property
    def text(self) -> str:
        with self._lock:
            return self._now.text(time.monotonic())

    @property
    def blinking(self) -> bool:
        with self._lock:
            self._now.expire(time.monotonic())
            return self._now.code is not None

    def show_ticket(self, number: str) -> None:
        with self._lock:
            self._now.set_ticket(number)
            self.shown.append(self._now.ticket)

    def show_code(self, code: str, *, seconds: float) -> None:
        with self._lock:
            self._now.set_code(code, seconds)
            self.shown.append(fit(code))
            self.codes.append((fit(code), seconds))

    def clear(self) -> None:
        self.show_ticket(BLANK)

    def close(self) -> None:
        pass


# TM1637 commands (datasheet "Titan Micro Electronics TM1637", section 7).
DATA_AUTO_INCREMENT: Final = 0x40  # write display data, address auto-increment
ADDRESS_0: Final = 0xC0  # first digit (the leftmost on the common 4-digit module)
DISPLAY_ON: Final = 0x88  # | brightness 0-7
DISPLAY_OFF: Final = 0x80


class Tm1637Display:
    """A TM1637 4-digit module on two BCM pins, bit-banged with gpiozero.

    Wiring: module VCC to 3.3 V (the Pi's pins are 3.3 V; the module's own
    pull-ups then stay at 3.3 V too), GND to ground, CLK and DIO to the two
    configured pins. One frame is: start, data command ``0x40``, stop;
    start, address ``0xC0`` and the four segment bytes, stop; start, display
    control ``0x88 | brightness``, stop. Bytes go least significant bit first,
    DIO changing while CLK is low and read by the chip on CLK's rising edge.

    The ninth clock of each byte is the chip's ACK: the driver releases DIO
    (input with pull-up) and reads it with CLK high; the chip holds it low.
    The ACK is only read, never waited for: a missing module or a broken DIO
    wire cannot hang the caller, it shows as the port state ``no ack``
    (heartbeat) until a frame is acknowledged again.

    CLK is a gpiozero ``DigitalOutputDevice``; DIO is a ``GPIODevice`` whose pin
    the driver switches between output and input (gpiozero's pin API), so
    gpiozero's ``MockFactory`` runs it unchanged. Python's own pin writes take
    microseconds on a Pi, slower than the chip needs; `bit_delay_s` (a busy
    wait per clock edge) adds margin for long wires.

    A code blinks by display control (on / off) from a thread of the display,
    started with the first code; every write holds one lock, so frames never
    interleave.
    """

    def __init__(
        self,
        clk: int,
        dio: int,
        *,
        brightness: int = 4,
        bit_delay_s: float = 10e-6,
        blink_s: float = BLINK_S,
        pin_factory: Any = None,
    ) -> None:
        if not 0 <= brightness <= 7:
            raise ValueError("TM1637 brightness is 0-7")
        try:
            from gpiozero import (  # type: ignore[import-untyped]
                DigitalOutputDevice,
                GPIODevice,
            )
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("a TM1637 display needs the 'gpio' extra (gpiozero)") from exc
        self._clk = DigitalOutputDevice(clk, initial_value=True, pin_factory=pin_factory)
        self._dio_device = GPIODevice(dio, pin_factory=pin_factory)
        self._dio = self._dio_device.pin
        self._dio.function = "output"
        self._dio.state = True
        self._brightness = brightness
        self._delay = bit_delay_s
        self._blink_s = blink_s
        self._cond = threading.Condition()
        self._now = _Showing()
        self._lit_text: str | None = None  # the digits in the chip's memory
        self._on: bool | None = None  # the chip's display switch (None: not known)
        self._acked = True
        self._error: str | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        with self._cond:
            self._write(BLANK, on=True)  # a rebooted Pi: the module kept its old digits

    # --- the port -------------------------------------------------------------------

    @property
    def state(self) -> str:
        if self._closed:
            return "closed"
        if self._error is not None:
            return f"error: {self._error}"[:64]
        return "ok" if self._acked else "no ack"

    @property
    def text(self) -> str:
        with self._cond:
            return self._now.text(time.monotonic())

    def show_ticket(self, number: str) -> None:
        with self._cond:
            if self._closed:
                return
            self._now.set_ticket(number)
            self._write(self._now.ticket, on=True)
            self._cond.notify_all()

    def show_code(self, code: str, *, seconds: float) -> None:
        with self._cond:
            if self._closed:
                return
            self._now.set_code(code, seconds)
            self._write(fit(code), on=True)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._blink, name="tm1637-blink", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def clear(self) -> None:
        self.show_ticket(BLANK)

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._write(BLANK, on=False)
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._clk.close()
        self._dio_device.close()

    # --- blinking (the display's own thread) ----------------------------------------

    def _blink(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                code = self._now.code
                if code is None:
                    self._cond.wait()
                    continue
                if self._now.expire(now):
                    self._write(self._now.ticket, on=True)
                    continue
                elapsed = now - self._now.code_since
                lit = int(elapsed / self._blink_s) % 2 == 0
                self._write(code, on=lit)
                next_edge = (
                    self._now.code_since + (int(elapsed / self._blink_s) + 1) * self._blink_s
                )
                self._cond.wait(timeout=max(0.0, min(next_edge, self._now.code_until) - now))

    # --- the chip (call with the lock held) -------------------------------------------

    def _write(self, text: str, *, on: bool) -> None:
        """Bring the chip to `text`, lit or dark, writing only what changed."""
        try:
            if text != self._lit_text:
                self._command(DATA_AUTO_INCREMENT)
                self._command(ADDRESS_0, *segments(text))
                self._lit_text = text
                self._on = None
            if on != self._on:
                self._command(DISPLAY_ON | self._brightness if on else DISPLAY_OFF)
                self._on = on
            self._error = None
        except Exception as exc:  # a pin error must not kill the blinking thread
            self._error = str(exc) or type(exc).__name__
            self._lit_text = self._on = None

    def _command(self, *data: int) -> None:
        self._start()
        acked = True
        for byte in data:
            acked = self._byte(byte) and acked
        self._stop()
        self._acked = acked

    def _edge(self) -> None:
        if self._delay > 0:
            end = time.perf_counter() + self._delay
            while time.perf_counter() < end:
                pass

    def _start(self) -> None:
        # DIO falls while CLK is high (both are high between commands).
        self._dio.state = True
        self._clk.on()
        self._edge()
        self._dio.state = False
        self._edge()
        self._clk.off()
        self._edge()

    def _stop(self) -> None:
        # DIO rises while CLK is high.
        self._clk.off()
        self._dio.state = False
        self._edge()
        self._clk.on()
        self._edge()
        self._dio.state = True
        self._edge()

    def _byte(self, byte: int) -> bool:
        """Send 8 bits, LSB first; True when the chip pulled DIO low on the ninth clock."""
        for bit in range(8):
            self._clk.off()
            self._dio.state = bool(byte >> bit & 1)
            self._edge()
            self._clk.on()
            self._edge()
        self._clk.off()
        self._dio.function = "input"
        self._dio.pull = "up"
        self._edge()
        self._clk.on()
        self._edge()
        ack = not self._dio.state
        self._clk.off()
        self._edge()
        self._dio.function = "output"
        self._dio.state = False
        return ack
