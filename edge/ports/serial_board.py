"""An existing LED board driven over a serial line (RS-232/RS-485).

Only the simulated adapter exists so far; the real one (pyserial's
``serial_for_url``, tested through ``loop://``) comes with the display issue.
"""

from __future__ import annotations

from typing import Protocol


class SerialBoard(Protocol):
    @property
    def state(self) -> str: ...

    def send(self, frame: bytes) -> None: ...

    def close(self) -> None: ...


class SimSerialBoard:
    """Keeps every frame it was sent in ``frames``."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    @property
    def state(self) -> str:
        return "ok"

    def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        pass
