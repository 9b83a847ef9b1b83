"""A speaker for Mandarin call announcements (请 A012 号到 3 号窗口).

Only the simulated adapter exists so far; the real one (text-to-speech and
audio output) comes with the display issue.
"""

from __future__ import annotations

from typing import Protocol


class Speaker(Protocol):
    @property
    def state(self) -> str: ...

    def say(self, text: str) -> None: ...

    def close(self) -> None: ...


class SimSpeaker:
    """Keeps every sentence it was asked to say in ``said``."""

    def __init__(self) -> None:
        self.said: list[str] = []

    @property
    def state(self) -> str:
        return "ok"

    def say(self, text: str) -> None:
        self.said.append(text)

    def close(self) -> None:
        pass
