"""The kiosk's ticket printer, as raw ESC/POS bytes.

Tickets are rendered with python-escpos on its ``Dummy`` printer and the bytes
are sent through this port, so layout and transport stay apart. Only the
simulated adapter exists so far; USB, serial and network adapters come with
the printer issue (`printer/`).
"""

from __future__ import annotations

from typing import Protocol


class Printer(Protocol):
    @property
    def state(self) -> str:
        """One of "ok", "paper_out", "cover_open" or "offline"."""
        ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class SimPrinter:
    """Keeps every job it was sent in ``jobs``; set ``paper_out`` to test the alarm."""

    def __init__(self) -> None:
        self.jobs: list[bytes] = []
        self.paper_out = False

    @property
    def state(self) -> str:
        return "paper_out" if self.paper_out else "ok"

    def write(self, data: bytes) -> None:
        self.jobs.append(data)

    def close(self) -> None:
        pass
