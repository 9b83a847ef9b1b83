"""Byte links to a printer: file, serial (pyserial URL), raw TCP (9100), USB, and a sim.

A transport is opened for one job or one status read and closed after it
(`session`), so a network printer is free for others in between and a
printer that was switched off and on is simply found again. Transports that
can read (serial, network, USB, sim) let `printer.status` ask the printer
how it is; a file cannot.

Every failure to open, write or read is raised as `TransportError` with a
Chinese message for staff.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from printer.settings import PrinterSettings


def _serial() -> Any:
    """pyserial (the printer extra), imported when a serial printer is used; untyped."""
    return importlib.import_module("serial")


class TransportError(Exception):
    """The link to the printer failed; ``str(exc)`` is Chinese, for staff."""


class Transport(Protocol):
    @property
    def can_read(self) -> bool: ...

    def describe(self) -> str: ...

    def open(self) -> None: ...

    def close(self) -> None: ...

    def write(self, data: bytes) -> None:
        """Send all of `data`; return only when the link accepted it."""
        ...

    def read(self, size: int, timeout_s: float) -> bytes:
        """Up to `size` bytes, waiting at most `timeout_s`; b"" when nothing came."""
        ...

    def discard_input(self) -> None:
        """Drop bytes that arrived unasked (late status replies)."""
        ...


@contextlib.contextmanager
def session(transport: Transport) -> Iterator[Transport]:
    transport.open()
    try:
        yield transport
    finally:
        with contextlib.suppress(Exception):
            transport.close()


class FileTransport:
    """Append to a file or a device node (``/dev/usb/lp0``); cannot read status."""

    can_read = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f: IO[bytes] | None = None

    def describe(self) -> str:
        return f"file:{self.path}"

    def open(self) -> None:
        try:
            self._f = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise TransportError(f"无法打开打印机文件 {self.path}：{exc.strerror}") from exc

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def write(self, data: bytes) -> None:
        if self._f is None:
            raise TransportError("打印机文件未打开")
        try:
            self._f.write(data)
            self._f.flush()
            if self.path.is_file():
                os.fsync(self._f.fileno())
        except OSError as exc:
            raise TransportError(f"写入打印机文件失败：{exc.strerror}") from exc

    def read(self, size: int, timeout_s: float) -> bytes:
        return b""

    def discard_input(self) -> None:
        pass


class SerialTransport:
    """A serial port through pyserial: a device, ``socket://host:port`` or ``loop://``."""

    can_read = True

    def __init__(
        self, url: str, *, baudrate: int = 19200, flow: str = "none", timeout_s: float = 3.0
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.flow = flow
        self.timeout_s = timeout_s
        self.port: Any = None  # serial.SerialBase; pyserial has no type hints

    def describe(self) -> str:
        return f"serial:{self.url}"

    def open(self) -> None:
        serial = _serial()
        try:
            self.port = serial.serial_for_url(
                self.url,
                baudrate=self.baudrate,
                timeout=self.timeout_s,
                write_timeout=self.timeout_s,
                rtscts=self.flow == "rtscts",
                xonxoff=self.flow == "xonxoff",
            )
        except (serial.SerialException, ValueError, OSError) as exc:
            raise TransportError(f"无法打开打印机串口 {self.url}：{exc}") from exc

    def close(self) -> None:
        if self.port is not None:
            self.port.close()
            self.port = None

    def _port(self) -> Any:
        if self.port is None:
            raise TransportError("打印机串口未打开")
        return self.port

    def write(self, data: bytes) -> None:
        serial = _serial()
        port = self._port()
        try:
            port.write(data)
            port.flush()
        except serial.SerialTimeoutException as exc:
            raise TransportError("向打印机发送数据超时（打印机忙或未就绪）") from exc
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"向打印机串口写入失败：{exc}") from exc

    def read(self, size: int, timeout_s: float) -> bytes:
        serial = _serial()
        port = self._port()
        try:
            port.timeout = timeout_s
            return bytes(port.read(size))
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"读取打印机串口失败：{exc}") from exc

    def discard_input(self) -> None:
        self._port().reset_input_buffer()


class NetworkTransport:
    """Raw TCP to the printer's port 9100 (JetDirect / AppSocket)."""

    can_read = True

    def __init__(self, host: str, port: int = 9100, *, timeout_s: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.sock: socket.socket | None = None

    def describe(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def open(self) -> None:
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except OSError as exc:
            raise TransportError(f"无法连接打印机 {self.host}:{self.port}：{exc}") from exc

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _sock(self) -> socket.socket:
        if self.sock is None:
            raise TransportError("未连接打印机")
        return self.sock

    def write(self, data: bytes) -> None:
        sock = self._sock()
        try:
            sock.settimeout(self.timeout_s)
            sock.sendall(data)
        except TimeoutError as exc:
            raise TransportError("向打印机发送数据超时（打印机忙或未就绪）") from exc
        except OSError as exc:
            raise TransportError(f"向打印机发送数据失败：{exc}") from exc

    def read(self, size: int, timeout_s: float) -> bytes:
        sock = self._sock()
        deadline = time.monotonic() + timeout_s
        out = b""
        try:
            while len(out) < size:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                chunk = sock.recv(size - len(out))
                if not chunk:
                    raise TransportError("打印机断开了连接")
                out += chunk
        except TimeoutError:
            pass
        except OSError as exc:
            raise TransportError(f"读取打印机状态失败：{exc}") from exc
        return out

    def discard_input(self) -> None:
        sock = self._sock()
        sock.setblocking(False)
        try:
            while sock.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            raise TransportError(f"打印机连接异常：{exc}") from exc
        finally:
            sock.settimeout(self.timeout_s)


class UsbTransport:  # pragma: no cover - needs a printer on the bus
    """A USB printer through python-escpos ``Usb`` (pyusb); thin on purpose."""

    can_read = True

    def __init__(
        self, vendor: int, product: int, in_ep: int, out_ep: int, timeout_s: float
    ) -> None:
        self.ids = (vendor, product)
        self.eps = (in_ep, out_ep)
        self.timeout_ms = int(timeout_s * 1000)
        self.dev: Any = None

    def describe(self) -> str:
        return f"usb:{self.ids[0]:04x}:{self.ids[1]:04x}"

    def open(self) -> None:
        try:
            from escpos.printer import Usb

            self.dev = Usb(
                self.ids[0],
                self.ids[1],
                timeout=self.timeout_ms,
                in_ep=self.eps[0],
                out_ep=self.eps[1],
            )
            self.dev.open(raise_not_found=True)
        except Exception as exc:
            raise TransportError(f"无法打开 USB 打印机 {self.describe()}：{exc}") from exc

    def close(self) -> None:
        if self.dev is not None:
            with contextlib.suppress(Exception):
                self.dev.close()
            self.dev = None

    def write(self, data: bytes) -> None:
        try:
            self.dev._raw(data)
        except Exception as exc:
            raise TransportError(f"向 USB 打印机写入失败：{exc}") from exc

    def read(self, size: int, timeout_s: float) -> bytes:
        try:
            return bytes(self.dev.device.read(self.eps[0], size, int(timeout_s * 1000)))
        except Exception:
            return b""

    def discard_input(self) -> None:
        while self.read(64, 0.01):
            pass


class SimTransport:
    """An in-memory printer: keeps each job, answers status queries like a real one.

    Set `paper` ("ok", "near_end", "out"), `cover_open` or `online`; with
    `paper_out_after` the paper runs out after that many more job bytes (the
    job is kept cut short, as the paper would be).
    """

    can_read = True

    def __init__(self) -> None:
        self.jobs: list[bytes] = []
        self.paper = "ok"
        self.cover_open = False
        self.online = True
        self.answers = True  # False: a printer that never answers status
        self.connected = True  # False: the link cannot be opened (cable out)
        self.paper_out_after: int | None = None
        self._replies = bytearray()

    def describe(self) -> str:
        return "sim"

    def open(self) -> None:
        if not self.connected:
            raise TransportError("无法连接打印机（模拟：未连接）")

    def close(self) -> None:
        pass

    def status_byte(self, n: int) -> int:
        from printer.status import encode_status

        return encode_status(
            n, paper=self.paper, cover_open=self.cover_open, offline=not self.online
        )

    def write(self, data: bytes) -> None:
        if len(data) == 3 and data[:2] == b"\x10\x04":
            if self.answers:
                self._replies.append(self.status_byte(data[2]))
            return
        if self.paper == "out" or self.cover_open or not self.online:
            return  # a stopped printer takes the bytes and prints nothing
        if self.paper_out_after is not None and len(data) >= self.paper_out_after:
            self.jobs.append(data[: self.paper_out_after])
            self.paper, self.paper_out_after = "out", None
            return
        if self.paper_out_after is not None:
            self.paper_out_after -= len(data)
        self.jobs.append(bytes(data))

    def read(self, size: int, timeout_s: float) -> bytes:
        out = bytes(self._replies[:size])
        del self._replies[:size]
        return out

    def discard_input(self) -> None:
        self._replies.clear()


def from_settings(settings: PrinterSettings) -> Transport:
    """The transport the settings describe (not opened yet)."""
    s = settings
    if s.transport == "file":
        assert s.path is not None
        return FileTransport(s.path)
    if s.transport == "serial":
        assert s.url is not None
        return SerialTransport(s.url, baudrate=s.baudrate, flow=s.flow, timeout_s=s.timeout_s)
    if s.transport == "network":
        assert s.host is not None
        return NetworkTransport(s.host, s.port, timeout_s=s.timeout_s)
    if s.transport == "sim":
        return SimTransport()
    assert s.usb_vendor is not None
    assert s.usb_product is not None
    return UsbTransport(s.usb_vendor, s.usb_product, s.usb_in_ep, s.usb_out_ep, s.timeout_s)
