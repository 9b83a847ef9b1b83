"""The sign-language terminal's camera.

`NewestFrameReader` reads any OpenCV-style capture (``read() -> (ok, frame)``)
on its own thread and keeps only the newest frame: whoever takes frames at
its own pace (the WebRTC sender, 25 times a second) always gets the latest
picture, and a slow moment never builds a queue of old ones, so delay cannot
accumulate. The kiosk's `edge.ports.scanner.CameraScanner` has the same idea
folded into its QR decoder threads; this one is standalone so it can be
shared.

Adapters: `OpenCvCamera` (``cv2.VideoCapture`` on a V4L2 device, buffer of
one frame) and `SimCamera` (records start/stop; its frames are a grey
picture — ``--sim`` terminals send the synthetic test track instead).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Camera(Protocol):
    @property
    def state(self) -> str:
        """Either "capturing", "idle" or "error: …"."""
        ...

    def start(self) -> None: ...

    def newest(self) -> tuple[int, Any] | None:
        """(sequence number, BGR picture) of the newest frame; None before the first."""
        ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class NewestFrameReader:
    """A capture read on a thread of its own; only the newest frame is kept."""

    def __init__(self, capture: Any, *, name: str = "camera-frames", retry_s: float = 0.5):
        self.capture = capture
        self.name = name
        self.retry_s = retry_s
        self.frames_read = 0
        self.error = ""
        self._newest: tuple[int, Any] | None = None
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._running.set()
        self._thread = threading.Thread(target=self._read, name=self.name, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while self._running.is_set():
            try:
                ok, frame = self.capture.read()
            except StopIteration:  # a finite fake source ran out
                ok, frame = False, None
            except Exception as exc:  # unplugged camera: report, retry slowly
                ok, frame = False, None
                self.error = str(exc)[:80]
            if not ok or frame is None:
                self.error = self.error or "camera gives no frames"
                time.sleep(self.retry_s)
                continue
            self.error = ""
            with self._lock:
                self.frames_read += 1
                self._newest = (self.frames_read, frame)  # older frames are dropped

    def newest(self) -> tuple[int, Any] | None:
        with self._lock:
            return self._newest

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def stop(self) -> None:
        self._running.clear()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(2.0)


class OpenCvCamera:
    """A V4L2 / USB camera through ``cv2.VideoCapture``."""

    def __init__(
        self,
        device: int | str = 0,
        *,
        width: int = 640,
        height: int = 480,
        fps: int = 25,
        capture: Any = None,
    ) -> None:
        self.device = device
        self.size = (width, height)
        self.fps = fps
        self._capture = capture  # tests pass a fake with read()
        self._reader: NewestFrameReader | None = None

    @property
    def state(self) -> str:
        reader = self._reader
        if reader is None or not reader.running:
            return "idle"
        return f"error: {reader.error}" if reader.error else "capturing"

    def _open(self) -> Any:
        if self._capture is None:
            import cv2

            capture = cv2.VideoCapture(self.device)
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
            capture.set(cv2.CAP_PROP_FPS, self.fps)
            # The driver's own queue would add delay of its own; one frame is enough.
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            self._capture = capture
        return self._capture

    def start(self) -> None:
        if self._reader is None:
            self._reader = NewestFrameReader(self._open())
        self._reader.start()

    def newest(self) -> tuple[int, Any] | None:
        return self._reader.newest() if self._reader is not None else None

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.stop()

    def close(self) -> None:
        self.stop()
        self._reader = None
        capture, self._capture = self._capture, None
        release = getattr(capture, "release", None)
        if callable(release):
            release()


class SimCamera:
    """Records starts and stops in ``history``; its picture is plain grey."""

    def __init__(self, width: int = 640, height: int = 480) -> None:
        self.history: list[str] = []
        self.capturing = False
        self.size = (width, height)
        self._frames = 0

    @property
    def state(self) -> str:
        return "capturing" if self.capturing else "idle"

    def start(self) -> None:
        self.capturing = True
        self.history.append("start")

    def newest(self) -> tuple[int, Any] | None:
        if not self.capturing:
            return None
        import numpy as np

        self._frames += 1
        return self._frames, np.full((self.size[1], self.size[0], 3), 128, np.uint8)

    def stop(self) -> None:
        self.capturing = False
        self.history.append("stop")

    def close(self) -> None:
        if self.capturing:
            self.stop()
