"""A thermal printer on raw TCP, as far as our code can tell.

It listens on 127.0.0.1 (a free port), keeps the bytes it is sent, and answers
real-time status queries (``DLE EOT n``) the way an ESC/POS printer does, from
its paper / cover / online state. ``paper_out_after`` makes the paper run out
after that many job bytes, in the middle of a job; ``silent`` makes it a
printer that never answers status.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

from printer.status import encode_status


class FakePrinter:
    def __init__(self) -> None:
        self.paper = "ok"  # ok | near_end | out
        self.cover_open = False
        self.online = True
        self.silent = False
        self.paper_out_after: int | None = None
        self.received = bytearray()  # job bytes (status queries left out)
        self.printed = bytearray()  # job bytes that reached paper
        self.queries: list[int] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakePrinter:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=2)

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        pending = b""
        with conn:
            conn.settimeout(0.1)
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                pending = self._feed(conn, pending + chunk)

    def _feed(self, conn: socket.socket, buf: bytes) -> bytes:
        i = 0
        with self._lock:
            while i < len(buf):
                if buf[i] == 0x10:
                    if len(buf) - i < 3:
                        break  # wait for the rest of a possible DLE EOT n
                    if buf[i + 1] == 0x04:
                        n = buf[i + 2]
                        self.queries.append(n)
                        if not self.silent:
                            conn.sendall(bytes((self._status(n),)))
                        i += 3
                        continue
                self._job_byte(buf[i])
                i += 1
        return buf[i:]

    def _job_byte(self, b: int) -> None:
        self.received.append(b)
        stopped = self.paper == "out" or self.cover_open or not self.online
        if not stopped:
            self.printed.append(b)
        if self.paper_out_after is not None and len(self.printed) >= self.paper_out_after:
            self.paper = "out"
            self.paper_out_after = None

    def _status(self, n: int) -> int:
        return encode_status(
            n, paper=self.paper, cover_open=self.cover_open, offline=not self.online
        )
