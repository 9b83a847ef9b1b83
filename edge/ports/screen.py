"""A screen the device can put a short message on (e.g. when identified).

Only the simulated adapter exists so far; the real screens are the kiosk's
Kivy UI, the display boards and the sign-language terminal's two screens,
each arriving with its own issue.
"""

from __future__ import annotations

from typing import Protocol


class Screen(Protocol):
    @property
    def state(self) -> str: ...

    def show(self, text: str, *, seconds: float) -> None:
        """Show `text` over whatever is on screen for `seconds`."""
        ...

    def close(self) -> None: ...


class SimScreen:
    """Keeps every message it was asked to show in ``shown``."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    @property
    def state(self) -> str:
        return "ok"

    def show(self, text: str, *, seconds: float) -> None:
        self.shown.append(text)

    def close(self) -> None:
        pass
