"""Recording a call on the terminal, only when the citizen agreed on screen.

The hub never sees the media (it is peer-to-peer), so a call is recorded
here, and only when the call's `Request` carried ``consent_recording=true``
(`signlang_terminal.terminal` decides; docs/interpreting.md, "Recording").

One file per segment, ``{request_id}-{n}.mp4`` in the recordings directory:
segment 1 is the call, and each new offer of the same call (the interpreter's
console reloaded) continues in the next number, so nothing is overwritten.
The file holds one H.264 picture, 1280×480 at 25 fps — the interpreter's
received picture on the left and the citizen's own camera picture (what was
sent) on the right, each fitted into 640×480 — and the interpreter's voice
(AAC, mono). One picture with both people plays in sync in any player, a
browser included; an MP4 with two video streams would show only the first in
most players. Encoding the two side by side costs the same as two 640×480
streams (x264's work goes with the pixel count).

Nothing of the call waits for the recording: `CallRecording` composes and
encodes on a thread of its own (PyAV releases the GIL while x264 works), at
25 ticks a second from the newest pictures the call already keeps for the
screen (`VideoMeter.latest`, `PacedVideoTrack.last_picture`), so no frame is
taken from the screen or the sender. The interpreter's voice comes through a
tap on the received audio's consumer into a bounded queue. The file is
fragmented MP4 (a fragment per key frame, every 2 s): a power cut or a full
disk leaves what was written playable. A failure of the recorder (no
directory, a full disk, an encoder error) is logged, stops the recording and
is reported as failed; the call goes on.

Why not aiortc's ``MediaRecorder`` (the first plan): it opens libx264 with
its defaults (preset medium: 70 % of a core on the development machine for
two 640×480 streams where ultrafast takes 8 %, beyond a Pi in real time) and
offers no way to set encoder options (the container options it takes are not
applied, since it encodes before the container starts); it encodes on the
caller's event loop, which is the call's; a failure in one of its track tasks
is silent; and it keeps the RTP timestamps of received frames (a random
start, the two streams out of step). This class does the same with PyAV
directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

from broker.recording import RecordingReport

log = logging.getLogger(__name__)

SLOT: Final = (640, 480)  # each person's box in the recorded picture
FPS: Final = 25
AUDIO_RATE: Final = 48_000
AUDIO_BITRATE: Final = 64_000
# ultrafast: a quarter of veryfast's CPU for 2.5× the bytes; the Pi's CPU is
# the scarce part while the call itself encodes VP8 (docs/signlang.md).
X264_OPTIONS: Final = {"preset": "ultrafast", "crf": "26"}
KEYFRAME_EVERY: Final = 2 * FPS
MOVFLAGS: Final = "+frag_keyframe+empty_moov+default_base_moof"
AUDIO_QUEUE: Final = 250  # 5 s of 20 ms frames; beyond that the oldest are dropped
AUDIO_GAP_S: Final = 0.5  # received audio this far behind the clock: a gap, not jitter
STOP_TIMEOUT_S: Final = 5.0
# The recordings share the disk with the agent's outbox and config: a recording
# never starts, and stops, when less than this would be left free.
MIN_FREE_BYTES: Final = 512 * 1024**2
FREE_CHECK_S: Final = 5.0
DAY_S: Final = 86_400
SUFFIX: Final = ".mp4"
FILE_NAME: Final = re.compile(r"^(?P<request>[A-Za-z0-9_-]{1,64})-(?P<segment>[0-9]{1,3})\.mp4$")
REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

State = Literal["starting", "recording", "stopped", "failed"]
Pictures = Callable[[], Any]  # the newest picture (av.VideoFrame or BGR ndarray) or None


def failure_text(exc: BaseException, what: str) -> str:
    """A short Chinese reason for the hall's managers, with the technical cause."""
    code = getattr(exc, "errno", None)
    detail = (getattr(exc, "strerror", None) or str(exc)).strip()
    if code == errno.ENOSPC:
        cause = "存储空间已满"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        cause = "没有写入权限"
    elif code in (errno.ENOENT, errno.ENOTDIR, errno.EEXIST):
        cause = "录像目录不可用"
    else:
        cause = type(exc).__name__
    return f"{what}：{cause}（{detail}）"[:200] if detail else f"{what}：{cause}"[:200]


class DiskLow(Exception):
    """Too little free space left on the recordings' disk."""

    def __init__(self, free: int, needed: int) -> None:
        super().__init__(
            f"存储空间不足：剩余 {free // 1024**2} MB，至少保留 {needed // 1024**2} MB，已停止录像"
        )


class RecordingStore:
    """The recordings directory: a free file name for each segment, and the purge."""

    def __init__(self, directory: Path, keep_days: int = 30) -> None:
        self.directory = directory
        self.keep_days = keep_days

    def next_path(self, request_id: str, *, after: int = 0) -> tuple[int, Path]:
        """The next segment of `request_id` after `after` and its file (never one
        that exists). Creates the directory; raises OSError when it cannot."""
        if not REQUEST_ID.match(request_id):
            raise ValueError(f"request id {request_id!r} cannot name a file")
        self.directory.mkdir(parents=True, exist_ok=True)
        taken = [
            int(m["segment"])
            for p in self.directory.iterdir()
            if (m := FILE_NAME.match(p.name)) and m["request"] == request_id
        ]
        segment = max([after, *taken]) + 1
        return segment, self.directory / f"{request_id}-{segment}{SUFFIX}"

    def purge(self, now: float | None = None, keep: frozenset[Path] = frozenset()) -> list[str]:
        """Delete recordings older than `keep_days` (by modification time); the
        names deleted. Other files, folders and the files in `keep` stay."""
        if not self.directory.is_dir():
            return []
        limit = (time.time() if now is None else now) - self.keep_days * DAY_S
        gone: list[str] = []
        for path in self.directory.iterdir():
            if not FILE_NAME.match(path.name) or path in keep:
                continue
            try:
                if path.is_file() and path.stat().st_mtime < limit:
                    path.unlink()
                    gone.append(path.name)
            except OSError as exc:
                log.warning("recording %s not purged: %s", path.name, exc)
        if gone:
            log.info("purged %d recording(s) older than %d days", len(gone), self.keep_days)
        return sorted(gone)


def _fit(width: int, height: int) -> tuple[int, int, int, int]:
    """Even size and offset of a width×height picture fitted into the slot."""
    slot_w, slot_h = SLOT
    scale = min(slot_w / width, slot_h / height)
    w = min(slot_w, max(2, round(width * scale / 2) * 2))
    h = min(slot_h, max(2, round(height * scale / 2) * 2))
    return w, h, (slot_w - w) // 4 * 2, (slot_h - h) // 4 * 2


def _planes(i420: Any, width: int, height: int) -> tuple[Any, Any, Any]:
    """Y, U and V views of an I420 image stored as a (height·3/2)×width array."""
    quarter = height // 4
    luma = i420[:height]
    u = i420[height : height + quarter].reshape(height // 2, width // 2)
    v = i420[height + quarter :].reshape(height // 2, width // 2)
    return luma, u, v


class Canvas:
    """The recorded picture: two slots side by side, in I420."""

    def __init__(self) -> None:
        slot_w, slot_h = SLOT
        self.width, self.height = 2 * slot_w, slot_h
        self.buffer = np.empty((self.height * 3 // 2, self.width), np.uint8)
        self.y, self.u, self.v = _planes(self.buffer, self.width, self.height)
        self.y[:] = 16  # black (video range)
        self.u[:] = 128
        self.v[:] = 128

    def paste(self, slot: int, i420: Any, width: int, height: int) -> None:
        """Put an I420 picture (already fitted, `_fit`) into slot 0 (left) or 1."""
        slot_w = SLOT[0]
        _, _, left, top = _fit(width, height)
        x0 = slot * slot_w
        if (width, height) != SLOT:  # letterbox: clear the slot first
            self.y[:, x0 : x0 + slot_w] = 16
            self.u[:, x0 // 2 : (x0 + slot_w) // 2] = 128
            self.v[:, x0 // 2 : (x0 + slot_w) // 2] = 128
        src_y, src_u, src_v = _planes(i420, width, height)
        x, y = x0 + left, top
        self.y[y : y + height, x : x + width] = src_y
        self.u[y // 2 : (y + height) // 2, x // 2 : (x + width) // 2] = src_u
        self.v[y // 2 : (y + height) // 2, x // 2 : (x + width) // 2] = src_v

    def paste_frame(self, slot: int, frame: Any) -> None:
        """An av.VideoFrame (a received picture), scaled to fit."""
        w, h, _, _ = _fit(frame.width, frame.height)
        if (frame.width, frame.height) != (w, h) or frame.format.name != "yuv420p":
            frame = frame.reformat(width=w, height=h, format="yuv420p")
        self.paste(slot, frame.to_ndarray(), w, h)

    def paste_bgr(self, slot: int, picture: Any) -> None:
        """A BGR picture (the camera's, as sent), scaled to fit."""
        import cv2

        height, width = picture.shape[:2]
        w, h, _, _ = _fit(width, height)
        if (width, height) != (w, h):
            picture = cv2.resize(picture, (w, h), interpolation=cv2.INTER_LINEAR)
        self.paste(slot, cv2.cvtColor(picture, cv2.COLOR_BGR2YUV_I420), w, h)

    def frame(self) -> Any:
        from av import VideoFrame

        return VideoFrame.from_ndarray(self.buffer, format="yuv420p")


class CallRecording:
    """One segment of one call: `start`, `feed_audio` from the call's loop,
    `stop` at the call's end (always), which returns the report."""

    def __init__(
        self,
        path: Path,
        request_id: str,
        segment: int,
        *,
        remote: Pictures,
        local: Pictures,
        on_state: Callable[[State], None] | None = None,
        fps: int = FPS,
        min_free_bytes: int = MIN_FREE_BYTES,
    ) -> None:
        self.path = path
        self.min_free_bytes = min_free_bytes
        self.request_id = request_id
        self.segment = segment
        self.remote = remote
        self.local = local
        self.on_state = on_state
        self.fps = fps
        self.state: State = "starting"
        self.reason: str | None = None
        self.frames = 0  # pictures written
        self.audio_frames = 0
        self.audio_dropped = 0
        self.bytes = 0
        self._last_pts = -1
        self._audio: deque[tuple[float, Any]] = deque(maxlen=AUDIO_QUEUE)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0
        self._canvas = Canvas()
        self._container: Any = None
        self._video: Any = None
        self._sound: Any = None
        self._next_audio: int | None = None
        self._shown: tuple[Any, Any] = (None, None)  # the pictures last put on the canvas

    @property
    def recording(self) -> bool:
        return self.state == "recording"

    @property
    def duration_s(self) -> float:
        return (self._last_pts + 1) / self.fps if self._last_pts >= 0 else 0.0

    # --- the call's loop -------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, name=f"recording-{self.request_id[:8]}-{self.segment}", daemon=True
        )
        self._thread.start()

    def feed_audio(self, frame: Any) -> None:
        """A received audio frame (the consumer is done with it): queued for the
        writer, which stamps it on the recording's clock."""
        if self.state not in ("starting", "recording") or self._stopping.is_set():
            return
        if len(self._audio) == AUDIO_QUEUE:
            self.audio_dropped += 1
        self._audio.append((time.monotonic(), frame))

    async def stop(self) -> RecordingReport:
        """End the segment: the rest is written and the file closed; the report."""
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, STOP_TIMEOUT_S)
            if thread.is_alive():
                self._failed("录像未能及时结束")
        elif self.state == "starting":
            self._failed("录像未开始")
        self._audio.clear()
        return self.report()

    def report(self) -> RecordingReport:
        name = self.path.name if FILE_NAME.match(self.path.name) and self.bytes > 0 else None
        reason = None
        if self.state == "failed":
            reason = self.reason or "录像失败"
        elif name is None:  # stopped before anything could be written
            reason = "录像为空：通话过短"
        return RecordingReport(
            request_id=self.request_id,
            segment=self.segment,
            file=name,
            bytes=self.bytes if name else 0,
            duration_s=round(self.duration_s, 2) if name else 0.0,
            reason=reason,
        )

    # --- the writer thread -----------------------------------------------------------

    def _set_state(self, state: State) -> None:
        self.state = state
        if self.on_state is not None and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone (shutdown)
                self._loop.call_soon_threadsafe(self.on_state, state)

    def _failed(self, reason: str) -> None:
        if self.state == "failed":
            return
        self.reason = reason
        log.warning("recording %s failed: %s", self.path.name, reason)
        self._set_state("failed")
        self._audio.clear()  # nobody will write it

    def _run(self) -> None:
        try:
            self._open()
        except DiskLow as exc:
            self._failed(str(exc))
            self._close(quietly=True)
            return
        except Exception as exc:
            self._failed(failure_text(exc, "无法创建录像文件"))
            self._close(quietly=True)
            return
        self._set_state("recording")
        try:
            tick = 0
            checked = time.monotonic()
            while True:
                wait = self._t0 + tick / self.fps - time.monotonic()
                if self._stopping.wait(max(0.0, wait)):
                    break
                # Behind (a busy machine): skip the ticks missed, keep real time.
                tick = max(tick, int((time.monotonic() - self._t0) * self.fps))
                self._write_picture(tick)
                self._write_audio()
                tick += 1
                if time.monotonic() - checked >= FREE_CHECK_S:
                    checked = time.monotonic()
                    self._check_free()
            self._write_audio()
            self._close(quietly=False)
        except DiskLow as exc:
            self._failed(str(exc))
            try:
                self._close(quietly=False)  # what was written stays playable
            except Exception:
                self._close(quietly=True)
            return
        except Exception as exc:
            log.debug("recording %s", self.path.name, exc_info=True)
            self._failed(failure_text(exc, "录像写入失败"))
            self._close(quietly=True)
            return
        self._set_state("stopped")

    def _open(self) -> None:
        import av

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._check_free()
        with self.path.open("ab"):  # fails here, clearly, when the file cannot be made
            pass
        container = av.open(
            str(self.path), mode="w", format="mp4", container_options={"movflags": MOVFLAGS}
        )
        self._container = container
        video = container.add_stream("libx264", rate=self.fps)
        picture = video.codec_context
        picture.width, picture.height = self._canvas.width, self._canvas.height
        picture.pix_fmt = "yuv420p"
        picture.gop_size = KEYFRAME_EVERY
        picture.options = dict(X264_OPTIONS)
        sound = container.add_stream("aac", rate=AUDIO_RATE)
        voice = sound.codec_context
        voice.layout = "mono"
        voice.bit_rate = AUDIO_BITRATE
        self._video, self._sound = video, sound
        # Both encoders open now: one that cannot start fails the start, not the call.
        picture.open()
        voice.open()

    def _check_free(self) -> None:
        free = shutil.disk_usage(self.path.parent).free
        if free < self.min_free_bytes:
            raise DiskLow(free, self.min_free_bytes)

    def _write_picture(self, tick: int) -> None:
        remote, local = self.remote(), self.local()
        if remote is not None and remote is not self._shown[0]:
            self._canvas.paste_frame(0, remote)
        if local is not None and local is not self._shown[1]:
            self._canvas.paste_bgr(1, local)
        self._shown = (remote, local)
        frame = self._canvas.frame()
        frame.pts, frame.time_base = tick, Fraction(1, self.fps)
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self.frames += 1
        self._last_pts = tick

    def _write_audio(self) -> None:
        while self._audio:
            arrived, frame = self._audio.popleft()
            rate = frame.sample_rate or AUDIO_RATE
            # Where this frame began on the recording's clock, by its arrival.
            at = max(0, round((arrived - self._t0) * rate) - frame.samples)
            if self._next_audio is None or at - self._next_audio > AUDIO_GAP_S * rate:
                self._next_audio = at  # the first frame, or after a gap: by the clock
            frame.pts, frame.time_base = self._next_audio, Fraction(1, rate)
            self._next_audio += frame.samples
            for packet in self._sound.encode(frame):
                self._container.mux(packet)
            self.audio_frames += 1

    def _close(self, *, quietly: bool) -> None:
        container, self._container = self._container, None
        try:
            if container is not None:
                try:
                    if not quietly:
                        for stream in (self._video, self._sound):
                            for packet in stream.encode(None):
                                container.mux(packet)
                finally:
                    container.close()
        except Exception:
            if not quietly:
                raise
            log.debug("recording %s: close after a failure", self.path.name, exc_info=True)
        finally:
            self._video = self._sound = None
            with contextlib.suppress(OSError):
                self.bytes = self.path.stat().st_size
                if self.bytes == 0 and self.path.is_file():
                    self.path.unlink()  # nothing was written: no empty file left behind
