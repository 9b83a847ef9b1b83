"""An existing LED board driven over a serial line (RS-232/RS-485).

`SerialBoard.show(lines)` puts whole lines of Chinese text on the board
(e.g. ``["A012 请到 5号窗口", ...]``); the driver encodes and frames them for
the board's protocol. The real adapter (`display.ledboard.board.LedBoard`,
pyserial's ``serial_for_url``, tested through ``loop://``) is built by
`edge.ports.factory`; `SimSerialBoard` is the in-memory fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class SerialBoard(Protocol):
    @property
    def state(self) -> str: ...

    def show(self, lines: Sequence[str]) -> None:
        """Replace what the board shows with `lines` (top to bottom)."""
        ...

    def close(self) -> None: ...


class SimSerialBoard:
    """Keeps every list of lines it was asked to show in ``shown``."""

    def __init__(self) -> None:
        self.shown: list[list[str]] = []

    @property
    def state(self) -> str:
        return "ok"

    def show(self, lines: Sequence[str]) -> None:
        self.shown.append(list(lines))

    def close(self) -> None:
        pass
