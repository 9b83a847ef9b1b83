"""The sign-language terminal's camera.

Only the simulated adapter exists so far; the real one (a V4L2 capture
feeding an aiortc track) comes with the sign-language terminal issue.
"""

from __future__ import annotations

from typing import Protocol


class Camera(Protocol):
    @property
    def state(self) -> str:
        """Either "capturing" or "idle"."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class SimCamera:
    """Records starts and stops in ``history``."""

    def __init__(self) -> None:
        self.history: list[str] = []
        self.capturing = False

    @property
    def state(self) -> str:
        return "capturing" if self.capturing else "idle"

    def start(self) -> None:
        self.capturing = True
        self.history.append("start")

    def stop(self) -> None:
        self.capturing = False
        self.history.append("stop")

    def close(self) -> None:
        if self.capturing:
            self.stop()
