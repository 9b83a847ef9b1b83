"""When bandwidth or CPU falls short, lower the resolution, never the frame rate.

Sign language carries meaning in the motion of hands and face: fingerspelling
and quick handshape changes blur into each other at low frame rates long
before a smaller picture hurts. EN 301 549 V3.2.1 §6.5.3 asks real-time video
to support at least 12 fps and preferably at least 20 fps, §6.5.2 at least
QVGA (320×240) and preferably VGA (640×480); ITU-T H-Series Supplement 1
(sign language and lip-reading over video) gives the same order: keep the
picture rate, give up picture size. So the policy steps 640×480 → 480×360 →
320×240 (the QVGA floor) and back, and the track keeps pacing at its frame
rate at every level; 20 fps is our floor.

The policy is fed measured samples (`Sample`) once a second by the call: the
frame rate the sender actually pulled from our track, how long the sender took
per frame (encode + packetise, measured between two pulls), the loss the
interpreter reported in RTCP and the send bitrate. It is plain Python, so its
rules are unit-tested with made-up samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Level:
    width: int
    height: int
    min_kbps: float  # below this a VP8 picture of this size turns to mush

    @property
    def label(self) -> str:
        return f"{self.width}×{self.height}"


LEVELS: Final = (
    Level(640, 480, 350.0),
    Level(480, 360, 220.0),
    Level(320, 240, 120.0),
)
MIN_FPS: Final = 20.0  # EN 301 549 / ITU-T H-Series Supplement 1


@dataclass(frozen=True)
class Sample:
    """One second of measurement."""

    fps: float  # frames the sender pulled from the track
    encode_ms: float  # mean time the sender spent per frame between pulls
    loss: float = 0.0  # fraction lost, from the receiver's RTCP reports (0..1)
    bandwidth_kbps: float | None = None  # estimated available send rate, when known


class AdaptationPolicy:
    """Steps the resolution down after `down_after` short samples in a row and
    up again after `up_after` samples with headroom in a row (hysteresis: a
    picture that changes size every few seconds is worse than a small one)."""

    def __init__(
        self,
        *,
        target_fps: float = 25.0,
        levels: tuple[Level, ...] = LEVELS,
        down_after: int = 2,
        up_after: int = 10,
        max_loss: float = 0.08,
    ) -> None:
        if target_fps < MIN_FPS:
            raise ValueError(f"target frame rate {target_fps} is below {MIN_FPS} fps")
        self.target_fps = target_fps
        self.levels = levels
        self.down_after = down_after
        self.up_after = up_after
        self.max_loss = max_loss
        self.index = 0
        self._short = 0
        self._headroom = 0
        self.starved = False  # at the lowest level and still short

    @property
    def level(self) -> Level:
        return self.levels[self.index]

    @property
    def budget_ms(self) -> float:
        return 1000.0 / self.target_fps

    def _short_of(self, s: Sample) -> bool:
        # The frame rate is measured against the floor with a margin: at 21 fps
        # the next hiccup takes us below 20.
        cpu_short = s.fps < max(MIN_FPS + 1.0, self.target_fps * 0.88)
        cpu_short |= s.encode_ms > self.budget_ms * 0.85
        net_short = s.loss > self.max_loss
        if s.bandwidth_kbps is not None:
            net_short |= s.bandwidth_kbps < self.level.min_kbps
        return cpu_short or net_short

    def _room_above(self, s: Sample) -> bool:
        if self.index == 0:
            return False
        up = self.levels[self.index - 1]
        area = (up.width * up.height) / (self.level.width * self.level.height)
        cpu_ok = s.fps >= self.target_fps * 0.95 and s.encode_ms * area < self.budget_ms * 0.6
        net_ok = s.loss < self.max_loss / 4
        if s.bandwidth_kbps is not None:
            net_ok &= s.bandwidth_kbps > up.min_kbps * 1.3
        return cpu_ok and net_ok

    def feed(self, sample: Sample) -> Level | None:
        """The new level when this sample changes it, else None."""
        if self._short_of(sample):
            self._headroom = 0
            self._short += 1
            if self._short < self.down_after:
                return None
            self._short = 0
            if self.index + 1 >= len(self.levels):
                self.starved = True
                return None
            self.index += 1
            return self.level
        self._short = 0
        self.starved = False
        if not self._room_above(sample):
            self._headroom = 0
            return None
        self._headroom += 1
        if self._headroom < self.up_after:
            return None
        self._headroom = 0
        self.index -= 1
        return self.level
