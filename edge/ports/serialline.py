"""What a device on a serial line read by a thread of its own has in common
(the barcode scanner, the ID card reader): the port opened on first use with
pyserial's ``serial_for_url`` (so ``loop://`` and ``socket://`` work in tests),
a reader thread, the last error in its state, and a clean stop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar


class SerialWorker:
    """Subclasses give `thread_name`, `busy` and the loop, ``_run(port, callback)``,
    which runs while ``self._running`` is set and keeps ``self._error`` current."""

    thread_name: ClassVar[str] = "serial"
    busy: ClassVar[str] = "running"  # the state while the thread runs

    def __init__(
        self, url: str, *, baudrate: int, timeout_s: float, join_s: float, port: Any = None
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self._timeout_s = timeout_s
        self._join_s = join_s
        self._port = port  # an open pyserial port (tests share one loop:// port)
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._error = ""

    @property
    def state(self) -> str:
        if self._error:
            return f"error: {self._error}"
        return self.busy if self._running.is_set() else "idle"

    @property
    def port(self) -> Any:
        if self._port is None:
            import serial

            self._port = serial.serial_for_url(
                self.url, baudrate=self.baudrate, timeout=self._timeout_s
            )
        return self._port

    def start(self, callback: Callable[[Any], None]) -> None:
        if self._thread is not None:
            return
        port = self.port
        self._running.set()
        self._thread = threading.Thread(
            target=self._run, args=(port, callback), name=self.thread_name, daemon=True
        )
        self._thread.start()

    def _run(self, port: Any, callback: Callable[[Any], None]) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join(self._join_s)
            self._thread = None

    def close(self) -> None:
        self.stop()
        if self._port is not None:
            self._port.close()
            self._port = None
