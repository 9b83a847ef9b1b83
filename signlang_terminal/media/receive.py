"""Consumers of received tracks. aiortc queues decoded frames until someone
reads them, so every received track gets one of these at once (an unread
track grows without bound); they also measure what a person would notice:
frames per second, frame latency (from the stamp drawn by the sender) and
whether sound arrives."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from signlang_terminal.media.speaker import Loudspeaker
from signlang_terminal.media.stamp import latency_ms, read_stamp
from signlang_terminal.media.synthetic import wall_ms

log = logging.getLogger(__name__)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


Tap = Callable[[Any], None]


class _Consumer:
    """Reads a received track to its end. Each frame is measured (`on_frame`)
    and then handed to the `taps` (the call's recording; a list the peer may
    change while the call runs), which must not block."""

    def __init__(self, track: MediaStreamTrack, taps: list[Tap] | None = None) -> None:
        self.track = track
        self.taps: list[Tap] = taps if taps is not None else []
        self.frames = 0
        self.first_at: float | None = None  # monotonic time of the first frame
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if self.first_at is None:
                self.first_at = now
            self.frames += 1
            try:
                self.on_frame(frame, now)
            except Exception:  # a bad frame must not stop the consumer (the queue would grow)
                log.exception("received %s frame not measured", self.track.kind)
            for tap in tuple(self.taps):
                try:
                    tap(frame)
                except Exception:  # a failing tap (the recording) must not stop the call
                    log.exception("received %s frame: tap failed", self.track.kind)

    def on_frame(self, frame: Any, now: float) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class VideoMeter(_Consumer):
    """Reads every received video frame; keeps the newest for the screen."""

    def __init__(
        self,
        track: MediaStreamTrack,
        *,
        read_stamps: bool = False,
        on_picture: Callable[[Any], None] | None = None,
        keep: int = 2000,
    ) -> None:
        super().__init__(track)
        self.read_stamps = read_stamps
        self.on_picture = on_picture
        self.arrivals: deque[float] = deque(maxlen=keep)
        self.latencies: deque[float] = deque(maxlen=keep)
        self.unreadable = 0
        self.size: tuple[int, int] | None = None
        self.latest: Any = None  # the newest av.VideoFrame

    def on_frame(self, frame: Any, now: float) -> None:
        self.arrivals.append(now)
        self.latest = frame
        self.size = (frame.width, frame.height)
        if self.read_stamps:
            luma = np.frombuffer(frame.planes[0], np.uint8)
            stride = frame.planes[0].line_size
            gray = luma.reshape(frame.height, stride)[:, : frame.width]
            stamp = read_stamp(gray)
            if stamp is None:
                self.unreadable += 1
            else:
                self.latencies.append(latency_ms(stamp, wall_ms()))
        if self.on_picture is not None:
            self.on_picture(frame)

    def fps(self, window_s: float = 2.0) -> float:
        """Frames per second over the last `window_s` of arrivals."""
        if len(self.arrivals) < 2:
            return 0.0
        last = self.arrivals[-1]
        recent = [t for t in self.arrivals if t >= last - window_s]
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0

    def mark(self) -> int:
        """An index into the measurements: `summary(since=mark)` covers what came after."""
        return len(self.latencies)

    def summary(self) -> dict[str, Any]:
        lat = list(self.latencies)
        return {
            "frames": self.frames,
            "fps": round(self.fps(), 2),
            "latency_p50_ms": round(statistics.median(lat), 1) if lat else None,
            "latency_p95_ms": percentile(lat, 95),
            "unreadable": self.unreadable,
            "size": self.size,
        }


class AudioMeter(_Consumer):
    """Reads every received audio frame; `level` is the newest RMS (0..1).

    Each frame also goes to `speaker` (the terminal's loudspeaker through
    aplay, `signlang_terminal.media.speaker`); with no speaker, or one that
    failed, the frames are still consumed and measured so the call neither
    leaks nor lies."""

    def __init__(
        self,
        track: MediaStreamTrack,
        speaker: Loudspeaker | None = None,
        taps: list[Tap] | None = None,
    ) -> None:
        super().__init__(track, taps)
        self.level = 0.0
        self.loud_frames = 0
        self.speaker = speaker if speaker is not None else Loudspeaker(None)

    def on_frame(self, frame: Any, now: float) -> None:
        self.speaker.play(frame)
        pcm = frame.to_ndarray().astype(np.float32) / 32768.0
        self.level = float(np.sqrt(np.mean(pcm * pcm))) if pcm.size else 0.0
        self.loud_frames += self.level > 0.01

    async def stop(self) -> None:
        await super().stop()
        self.speaker.stop()
