"""`LedBoard`: the real `edge.ports.serial_board.SerialBoard`, over pyserial.

The port is opened with ``serial_for_url``, so a USB adapter (/dev/ttyUSB0),
a serial server (rfc2217://, socket://) and the test loop (loop://) are the
same code. A board that is unplugged or switched off must not stop the
display device: `show` never raises for the line; it logs, reports the fault
in `state` (the heartbeat puts it on the devices page) and reopens the port
on the next `show`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence

import serial

from display.ledboard.alpha import frame_lines
from display.ledboard.plain import plain_lines
from display.ledboard.settings import LedBoardSettings

log = logging.getLogger(__name__)


def encode_lines(lines: Sequence[str], settings: LedBoardSettings) -> bytes:
    """The bytes that put `lines` on a board of this configuration."""
    if settings.protocol == "alpha":
        return frame_lines(lines, settings)
    return plain_lines(lines, settings)


class LedBoard:
    def __init__(self, settings: LedBoardSettings) -> None:
        self.settings = settings
        self._port: serial.Serial | None = None
        self._fault: str | None = None
        self._lock = threading.Lock()
        with self._lock:
            self._open()  # a board missing at start is a fault to report, not a crash

    @property
    def state(self) -> str:
        return f"offline: {self._fault}" if self._fault else "ok"

    @property
    def port(self) -> serial.Serial | None:
        """The open serial port (tests read a ``loop://`` port back through it)."""
        return self._port

    def show(self, lines: Sequence[str]) -> None:
        data = encode_lines(lines, self.settings)
        with self._lock:
            port = self._port or self._open()
            if port is None:
                return
            try:
                port.write(data)
                port.flush()
            except (serial.SerialException, OSError) as exc:
                self._failed(f"write failed: {exc}")
                return
            self._fault = None

    def close(self) -> None:
        with self._lock:
            if self._port is not None:
                self._port.close()
                self._port = None

    def _open(self) -> serial.Serial | None:
        s = self.settings
        try:
            self._port = serial.serial_for_url(
                s.url,
                baudrate=s.baudrate,
                bytesize=serial.EIGHTBITS,  # GB2312 needs all eight bits
                parity=s.parity,
                stopbits=s.stopbits,
                timeout=s.timeout_s,
                write_timeout=s.timeout_s,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._failed(f"cannot open {s.url}: {exc}")
            return None
        self._fault = None
        return self._port

    def _failed(self, reason: str) -> None:
        if reason != self._fault:
            log.warning("LED board %s: %s", self.settings.describe(), reason)
        self._fault = reason
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.close()
            self._port = None
