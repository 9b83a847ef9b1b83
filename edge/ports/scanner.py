"""The kiosk's code scanner (扫码口): booking QR codes for appointment check-in.

Three adapters behind one small protocol, chosen by ``device.ports.scanner``
(`anxin.settings.ScannerPort`) in `edge.ports.factory`:

- `CameraScanner`: a camera read with OpenCV. One thread reads frames and
  keeps only the newest (a slow decode never works through a backlog of old
  frames); a second thread runs ``cv2.QRCodeDetector`` on the newest frame.
  ``capture`` is anything with OpenCV's ``VideoCapture`` ``read()`` (tests
  pass synthetic frames).
- `SerialScanner`: a serial or USB-serial (CDC/HID-serial mode) barcode
  scanner, opened with pyserial's ``serial_for_url`` (so ``loop://`` and
  ``socket://`` work); scanners send each code followed by CR and/or LF.
- `SimScanner`: ``scan(text)`` delivers a code, as a citizen holding up a
  phone would.

``start(on_code)`` calls ``on_code(text)`` on the adapter's own thread; the
consumer hands it to its loop (``loop.call_soon_threadsafe``). The same code
read again within ``repeat_s`` is dropped: a QR code held in front of a
camera is seen in every frame.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

from edge.ports.serialline import SerialWorker

log = logging.getLogger(__name__)

OnCode = Callable[[str], None]
MAX_CODE: Final = 512


class Scanner(Protocol):
    @property
    def state(self) -> str:
        """ "scanning", "idle", or "error: …" (for the heartbeat)."""
        ...

    def start(self, on_code: OnCode) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class _Repeats:
    """Drops a code seen again within `window_s` of its last delivery."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._last: tuple[str, float] | None = None

    def fresh(self, code: str) -> bool:
        now = time.monotonic()
        if self._last is not None and self._last[0] == code and now - self._last[1] < self.window_s:
            return False
        self._last = (code, now)
        return True


def _deliver(on_code: OnCode | None, code: str) -> None:
    if on_code is None:
        return
    try:
        on_code(code)
    except Exception:
        log.exception("scanner consumer failed on a code")


# --- simulated ------------------------------------------------------------------------


class SimScanner:
    """``scan("K7F3Q9XA2B")`` delivers a code; ``scanned`` keeps them all."""

    def __init__(self) -> None:
        self.scanned: list[str] = []
        self._on_code: OnCode | None = None

    @property
    def state(self) -> str:
        return "scanning" if self._on_code is not None else "idle"

    def start(self, on_code: OnCode) -> None:
        self._on_code = on_code

    def scan(self, text: str) -> None:
        self.scanned.append(text)
        _deliver(self._on_code, text)

    def stop(self) -> None:
        self._on_code = None

    def close(self) -> None:
        self.stop()


# --- serial -----------------------------------------------------------------------------


class SerialScanner(SerialWorker):
    """A barcode scanner on a serial line: one code per CR/LF-terminated line."""

    thread_name = "scanner-serial"
    busy = "scanning"

    def __init__(
        self, url: str, *, baudrate: int = 9600, repeat_s: float = 1.0, port: Any = None
    ) -> None:
        super().__init__(url, baudrate=baudrate, timeout_s=0.2, join_s=2.0, port=port)
        self._repeats = _Repeats(repeat_s)

    def _run(self, port: Any, on_code: OnCode) -> None:
        buffer = b""
        while self._running.is_set():
            try:
                chunk: bytes = port.read(port.in_waiting or 1)
            except Exception as exc:  # unplugged: report, retry slowly
                self._error = str(exc)[:80]
                log.warning("scanner %s: %s", self.url, exc)
                time.sleep(1.0)
                continue
            self._error = ""
            if not chunk:
                continue
            buffer += chunk
            *lines, buffer = buffer.replace(b"\r", b"\n").split(b"\n")
            if len(buffer) > MAX_CODE:  # noise without a line end
                buffer = b""
            for line in lines:
                code = line.decode("utf-8", "replace").strip()
                if code and len(code) <= MAX_CODE and self._repeats.fresh(code):
                    _deliver(on_code, code)


# --- camera ------------------------------------------------------------------------------


def decode_frame(frame: Any, detector: Any = None) -> str | None:
    """The text of a QR code in a BGR or grey frame (numpy array), if any."""
    import cv2

    detector = detector or cv2.QRCodeDetector()
    try:
        text, points, _ = detector.detectAndDecode(frame)
    except cv2.error:
        return None
    return text if text and points is not None else None


class CameraScanner:
    """QR codes from a camera: a reader thread keeps the newest frame, a decoder
    thread decodes it."""

    def __init__(
        self,
        device: int | str = 0,
        *,
        width: int = 1280,
        height: int = 720,
        repeat_s: float = 3.0,
        capture: Any = None,
        idle_s: float = 0.02,
    ) -> None:
        self.device = device
        self.size = (width, height)
        self._capture = capture
        self._repeats = _Repeats(repeat_s)
        self._idle_s = idle_s
        self._frame: Any = None
        self._frame_no = 0
        self._lock = threading.Lock()
        self._fresh = threading.Condition(self._lock)
        self._running = threading.Event()
        self._threads: list[threading.Thread] = []
        self._error = ""
        self.frames_read = 0
        self.frames_decoded = 0

    @property
    def state(self) -> str:
        if self._error:
            return f"error: {self._error}"
        return "scanning" if self._running.is_set() else "idle"

    def _open(self) -> Any:
        if self._capture is None:
            import cv2

            capture = cv2.VideoCapture(self.device)
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
            self._capture = capture
        return self._capture

    def start(self, on_code: OnCode) -> None:
        if self._threads:
            return
        capture = self._open()
        self._running.set()
        self._threads = [
            threading.Thread(
                target=self._read, args=(capture,), name="scanner-frames", daemon=True
            ),
            threading.Thread(target=self._decode, args=(on_code,), name="scanner-qr", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read(self, capture: Any) -> None:
        while self._running.is_set():
            ok, frame = capture.read()
            if not ok or frame is None:
                self._error = "camera gives no frames"
                time.sleep(0.5)
                continue
            self._error = ""
            with self._fresh:
                self._frame = frame  # only the newest: older ones are dropped
                self._frame_no += 1
                self.frames_read += 1
                self._fresh.notify()
            time.sleep(self._idle_s)

    def _decode(self, on_code: OnCode) -> None:
        import cv2

        detector = cv2.QRCodeDetector()
        seen = 0
        while self._running.is_set():
            with self._fresh:
                if self._frame_no == seen:
                    self._fresh.wait(0.2)
                if self._frame_no == seen:
                    continue
                frame, seen = self._frame, self._frame_no
            text = decode_frame(frame, detector)
            self.frames_decoded += 1
            if text and len(text) <= MAX_CODE and self._repeats.fresh(text):
                _deliver(on_code, text)

    def stop(self) -> None:
        self._running.clear()
        with self._fresh:
            self._fresh.notify_all()
        for thread in self._threads:
            thread.join(2.0)
        self._threads = []

    def close(self) -> None:
        self.stop()
        capture, self._capture = self._capture, None
        release = getattr(capture, "release", None)
        if callable(release):
            release()
