"""What an admin chooses for one board: the retained ``DeviceConfig.settings``.

A display device reads its board settings from the hub (the devices page
writes them), so a board is re-purposed from the hub without touching the Pi.
Unknown keys are ignored rather than refused: the same settings document may
carry keys of other parts of the device (the voice, the LED board).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

log = logging.getLogger(__name__)

DEFAULT_HIGHLIGHT_S: Final = 4.0


class BoardKind(StrEnum):
    HALL = "hall"  # 综合屏: every call in the hall
    AREA = "area"  # 区域屏: the calls of one service area
    WINDOW = "window"  # 窗口屏: one window's ticket over the window


class BoardSettings(BaseModel):
    """One board's configuration (keys of ``DeviceConfig.settings``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    board: BoardKind = Field(BoardKind.HALL, description="hall, area or window board")
    area: str | None = Field(None, max_length=32, description="area code (area boards)")
    services: tuple[str, ...] = Field(
        (), description="service codes whose waits are listed; empty: every service"
    )
    window: int | None = Field(None, ge=0, description="window number (window displays)")
    title: str | None = Field(None, max_length=40, description="heading; default by board kind")
    notices: tuple[str, ...] = Field((), description="scrolling notices (Chinese)")
    highlight_s: float = Field(
        DEFAULT_HIGHLIGHT_S, ge=1.0, le=30.0, description="how long each new call is featured"
    )
    calls_shown: int = Field(8, ge=1, le=20, description="rows of latest calls")
    announce: bool = Field(
        True, description="announce new calls on the speaker (one board per area is enough)"
    )
    serial_lines: int = Field(2, ge=1, le=8, description="lines sent to a serial LED board")
    # The speaker's own settings (`display.voice.settings.VoiceSettings`, in the
    # device's file) are the defaults; these, set on the devices page, win.
    voice_repeat: int | None = Field(None, ge=1, le=5, description="times each call is said")
    voice_busy_repeat: int | None = Field(
        None, ge=1, le=5, description="times a call is said when others wait behind it"
    )
    voice_max_wait_s: float | None = Field(
        None, ge=0, le=3600, description="skip a call that waited longer; 0: never"
    )
    voice_chime: bool | None = Field(None, description="a chime before each call")

    def voice_overrides(self) -> dict[str, Any]:
        """The voice settings the hub set, by `VoiceSettings` name."""
        given = {
            "repeat": self.voice_repeat,
            "busy_repeat": self.voice_busy_repeat,
            "max_wait_s": self.voice_max_wait_s,
            "chime": self.voice_chime,
        }
        return {k: v for k, v in given.items() if v is not None}

    @model_validator(mode="after")
    def _scope_is_complete(self) -> BoardSettings:
        if self.board is BoardKind.AREA and not self.area:
            raise ValueError("an area board needs an area code")
        if self.board is BoardKind.WINDOW and self.window is None:
            raise ValueError("a window display needs a window number")
        return self

    @classmethod
    def from_config(
        cls, settings: Mapping[str, Any], *, fallback: BoardSettings | None = None
    ) -> BoardSettings:
        """The board settings in a device config; a bad document keeps `fallback`
        (a typo on the devices page must not blank the hall board)."""
        try:
            return cls.model_validate(dict(settings))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            log.warning("board settings refused (%s: %s); keeping the last good ones",
                        where, first["msg"])  # fmt: skip
            return fallback or cls()
