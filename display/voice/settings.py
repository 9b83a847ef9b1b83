"""Voice calling configuration (`VoiceSettings`), the ``speaker`` port's real kind.

``kind = "voice"`` puts it in the device settings' discriminated union next to
the simulated port. Only pydantic is imported here: the settings module of
every role loads this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class VoiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["voice"] = "voice"
    voice: str = Field(
        "cmn", pattern=r"^[A-Za-z0-9_+\-]+$", description="espeak-ng voice (cmn, cmn+f3, ...)"
    )
    speed_wpm: int = Field(175, ge=80, le=300, description="espeak-ng speed, words per minute")
    pitch: int = Field(50, ge=0, le=99, description="espeak-ng pitch")
    one_as: Literal["一", "幺"] = Field(
        "一", description="how the digit 1 of a ticket is read: 一 (halls, banks) or 幺 (radio)"
    )
    repeat: int = Field(2, ge=1, le=5, description="times each call is said")
    busy_repeat: int = Field(
        1, ge=1, le=5, description="times a call is said when other calls wait behind it"
    )
    max_wait_s: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="skip (report `skipped`) a call that waited longer than this; 0: never",
    )
    chime: bool = Field(True, description="a two-tone chime before each call")
    word_gap_ms: int = Field(120, ge=0, le=2000, description="pause between words of a call")
    digit_gap_ms: int = Field(40, ge=0, le=2000, description="pause between digits of a ticket")
    chime_gap_ms: int = Field(300, ge=0, le=3000, description="pause after the chime")
    repeat_gap_ms: int = Field(800, ge=0, le=5000, description="pause between repeats")
    volume: float = Field(0.9, gt=0, le=1.0, description="peak level of the call (0-1]")
    output: Literal["aplay", "folder"] = Field(
        "aplay", description="aplay: the Pi's sound card (alsa-utils); folder: WAV files"
    )
    alsa_device: str = Field("default", description="ALSA device for aplay (-D), e.g. hw:1,0")
    folder: Path | None = Field(
        None, description="output = folder: where played calls go (default data_dir/played)"
    )
    cache_dir: Path | None = Field(
        None, description="where rendered clips are kept (default data_dir/voice-clips)"
    )
    play_timeout_s: float = Field(30.0, gt=0, description="give up on one call after this long")

    @model_validator(mode="after")
    def _gaps_fit(self) -> VoiceSettings:
        if self.digit_gap_ms > self.word_gap_ms:
            raise ValueError(
                "voice.digit_gap_ms must not exceed word_gap_ms (digits belong together)"
            )
        if self.busy_repeat > self.repeat:
            raise ValueError("voice.busy_repeat must not exceed repeat (it shortens a backlog)")
        return self
