"""The terminal's outgoing tracks.

aiortc's own `VideoStreamTrack` paces at a fixed 30 fps; ours pace at the
configured rate (25 fps) and scale each picture to the size the adaptation
policy chose, so the frame rate never drops when the resolution does. Each
video track also measures what the sender does with it (`SendMeter`): how
many frames it pulled per second and how long it spent between two pulls
(encode and packetise in aiortc's `RTCRtpSender`), the policy's CPU signal.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections import deque
from typing import Any, Final, Protocol

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from signlang_terminal.media.synthetic import draw_pattern, wall_ms

VIDEO_CLOCK: Final = 90_000
VIDEO_TIME_BASE: Final = fractions.Fraction(1, VIDEO_CLOCK)
AUDIO_RATE: Final = 48_000
AUDIO_PTIME: Final = 0.020


class SendMeter:
    """Frames pulled by the sender over the last `window_s`, and its time per frame."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._pulls: deque[float] = deque()
        self._busy: deque[float] = deque(maxlen=50)
        self._returned_at: float | None = None
        self.frames = 0
        self.first_at: float | None = None  # the sender's first pull (media flowing)

    def pull_started(self, now: float) -> None:
        if self._returned_at is not None:
            self._busy.append(now - self._returned_at)

    def pull_returned(self, now: float) -> None:
        if self.first_at is None:
            self.first_at = now
        self._returned_at = now
        self.frames += 1
        self._pulls.append(now)
        while self._pulls and self._pulls[0] < now - self.window_s:
            self._pulls.popleft()

    def fps(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        recent = [t for t in self._pulls if t >= now - self.window_s]
        if len(recent) < 2:
            return 0.0
        span = max(now - recent[0], recent[-1] - recent[0])
        return (len(recent) - 1) / span if span > 0 else 0.0

    def encode_ms(self) -> float:
        return 1000.0 * sum(self._busy) / len(self._busy) if self._busy else 0.0


class _Pacer:
    """Presentation timestamps at `fps`, sleeping until each frame is due.
    A late frame is not waited for, and the schedule is not made up later
    (no burst after a stall)."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self._start: float | None = None
        self._due = 0.0

    async def next_pts(self) -> int:
        now = time.monotonic()
        if self._start is None:
            self._start = self._due = now
        else:
            self._due = max(self._due + self.period, now - self.period)
            if self._due > now:
                await asyncio.sleep(self._due - now)
        return int((self._due - self._start) * VIDEO_CLOCK)


class PacedVideoTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, *, fps: float = 25.0, size: tuple[int, int] = (640, 480)) -> None:
        super().__init__()
        self.fps = fps
        self.size = size  # set by the adaptation policy; the next frame uses it
        self.meter = SendMeter()
        self._pacer = _Pacer(fps)
        self._counter = 0
        self.last_picture: Any = None  # the newest BGR picture sent (the screen's preview)

    def picture(self, counter: int) -> Any:
        """The newest BGR picture (any size: it is scaled to `self.size`)."""
        raise NotImplementedError

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        self.meter.pull_started(time.monotonic())
        pts = await self._pacer.next_pts()
        self._counter += 1
        image = self.picture(self._counter)
        width, height = self.size
        if image.shape[1] != width or image.shape[0] != height:
            import cv2

            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        self.last_picture = image
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = pts, VIDEO_TIME_BASE
        self.meter.pull_returned(time.monotonic())
        return frame


class SyntheticVideoTrack(PacedVideoTrack):
    """The moving test pattern with counter and capture time (``--sim``).

    It is drawn at the chosen size directly (no scaling cost), with the stamp
    at the moment the sender asks for the frame: the capture time."""

    def picture(self, counter: int) -> Any:
        width, height = self.size
        return draw_pattern(counter, wall_ms(), width, height)


class FrameSource(Protocol):
    def newest(self) -> tuple[int, Any] | None:
        """(sequence number, BGR picture) of the newest frame, or None before the first."""
        ...


class CameraVideoTrack(PacedVideoTrack):
    """The camera's newest frame at each tick. The camera is read on its own
    thread (`edge.ports.camera.NewestFrameReader`), so a slow encoder skips
    frames instead of queueing them: the picture is always the latest."""

    def __init__(self, source: FrameSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.repeats = 0  # ticks with no new camera frame (camera slower than the pace)
        self._last_seq = -1
        self._black: Any = None

    def picture(self, counter: int) -> Any:
        newest = self.source.newest()
        if newest is None:
            if self._black is None:
                self._black = np.zeros((self.size[1], self.size[0], 3), np.uint8)
            return self._black
        seq, image = newest
        if seq == self._last_seq:
            self.repeats += 1
        self._last_seq = seq
        return image


class ToneAudioTrack(MediaStreamTrack):
    """A quiet 440 Hz tone in 20 ms frames (the simulated clerk microphone)."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, level: float = 0.1) -> None:
        super().__init__()
        self.samples = int(AUDIO_RATE * AUDIO_PTIME)
        self._step = 2 * math.pi * frequency / AUDIO_RATE
        self._amplitude = int(32767 * level)
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._pts / AUDIO_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        n = np.arange(self._pts, self._pts + self.samples)
        pcm = (self._amplitude * np.sin(n * self._step)).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts, frame.time_base = self._pts, fractions.Fraction(1, AUDIO_RATE)
        self._pts += self.samples
        return frame
