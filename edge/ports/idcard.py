"""The kiosk's resident identity card (居民身份证) reader.

Most Chinese second-generation ID card readers (华视 CVR-100, 神思 SS, 精伦 iDR,
新中新 …) carry the same security module (SAM_V) and speak its serial
protocol on a UART or a USB-serial bridge; docs/kiosk.md ("ID card reader")
lists the public sources this follows and where they differ.

Frames (every multi-byte number big-endian)::

    host → reader   AA AA AA 96 69 | Len1 Len2 | CMD Para [Data] | CHK
    reader → host   AA AA AA 96 69 | Len1 Len2 | SW1 SW2 SW3 [Data] | CHK

``Len`` counts the bytes after it, the checksum included; ``CHK`` is the XOR
of every byte between the preamble and itself. ``SW3`` is the module's
status: ``90`` done, ``9F`` card found, ``80`` no card found, ``81`` card not
selected, ``10`` the module saw a bad checksum, … (`STATUS`).

One poll, every ``poll_s``: find card (``20 01``); when a card is there and
has not been reported yet, select it (``20 02``) and read its text and photo
(``30 01``). The read answer's data is the length of the text block (2
bytes, 256), the length of the photo block (2 bytes, 1024), the text block
and the photo block. The text block is UCS-2 little-endian in fixed fields
padded with spaces: name 30 bytes, sex 2, nation 4, birth date 16, address
70, ID number 36, issuing authority 30, validity start 16, end 16, reserved.

**Personal data.** Only the ID number and the name leave this module (a
`CardRead`), and neither is logged in clear (`CardRead` masks itself when
printed). The photo block, the address, the birth date and the other fields
are dropped as soon as the frame is parsed: never stored, never logged,
never passed on.

A card held on the reader is reported once; lifted and placed again (find
answers "no card" in between), it is reported again. Many modules also answer
"no card" while a card that was read stays on the reader, until it is
lifted; both behaviours give one report per placement.

Bad input never stops the port: a frame with a wrong checksum, an absurd
length, noise before the preamble, a status the module should not send or a
text block that is not an ID card is dropped with a logged reason, and the
next poll starts afresh. ``start(on_card)`` calls ``on_card(read)`` on the
adapter's own thread; the consumer hands it to its loop.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from edge.ports.serialline import SerialWorker

log = logging.getLogger(__name__)

PREAMBLE: Final = b"\xaa\xaa\xaa\x96\x69"
HEADER: Final = len(PREAMBLE) + 2
MAX_LENGTH: Final = 4096  # text + photo + fingerprints is 2321; more is noise
FIND: Final = (0x20, 0x01)
SELECT: Final = (0x20, 0x02)
READ: Final = (0x30, 0x01)  # text and photo (30 10 adds fingerprints: not wanted)

OK: Final = 0x90
FOUND: Final = 0x9F
NO_CARD: Final = 0x80
NOT_SELECTED: Final = 0x81
STATUS: Final = {
    0x90: "操作成功",
    0x91: "证/卡中此项无内容",
    0x9F: "寻找证/卡成功",
    0x10: "接收业务终端数据的校验和错",
    0x11: "接收业务终端数据的长度错",
    0x21: "接收业务终端的命令错误",
    0x23: "越权操作",
    0x24: "无法识别的错误",
    0x31: "证/卡认证SAM_V失败",
    0x32: "SAM_V认证证/卡失败",
    0x33: "信息验证错误",
    0x40: "无法识别的卡类型",
    0x41: "读证/卡操作失败",
    0x47: "取随机数失败",
    0x60: "SAM_V自检失败",
    0x66: "SAM_V未经授权",
    0x80: "寻找证/卡失败",
    0x81: "选取证/卡失败",
}
"""SW3 codes and their meaning as the module's documentation words them."""

# Byte offsets in the text block (UCS-2 LE): (start, end).
NAME: Final = (0, 30)
ID_NUMBER: Final = (122, 158)
TEXT_FIELDS_END: Final = 220  # validity end; the rest is reserved
_ID_RE: Final = re.compile(r"^\d{17}[\dX]$")


class FrameError(ValueError):
    """A frame that cannot be trusted; the message says why (for the log)."""


@dataclass(frozen=True)
class CardRead:
    """What the kiosk learns from a card: the ID number and the name, no more."""

    id_number: str
    name: str

    def __repr__(self) -> str:  # logs and tracebacks show only masked forms
        return f"CardRead(id_number={_mask_id(self.id_number)!r}, name={_mask_name(self.name)!r})"

    __str__ = __repr__


OnCard = Callable[[CardRead], None]


class IdCardReader(Protocol):
    @property
    def state(self) -> str:
        """ "reading", "idle" or "error: …" (for the heartbeat)."""
        ...

    def start(self, on_card: OnCard) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


# --- frames ----------------------------------------------------------------------------


def checksum(body: bytes) -> int:
    value = 0
    for byte in body:
        value ^= byte
    return value


def command(cmd: int, para: int, data: bytes = b"") -> bytes:
    """A host → reader frame."""
    body = bytes((cmd, para)) + data
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes((checksum(length + body),))


@dataclass(frozen=True)
class Answer:
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @property
    def status(self) -> str:
        return f"{self.sw3:02X} {STATUS.get(self.sw3, '未知状态')}"


def parse_answer(frame: bytes) -> Answer:
    """One reader → host frame (preamble included); `FrameError` with the reason."""
    if not frame.startswith(PREAMBLE):
        raise FrameError("no preamble AA AA AA 96 69")
    if len(frame) < HEADER:
        raise FrameError(f"{len(frame)} bytes: shorter than a header")
    length = int.from_bytes(frame[5:7], "big")
    if not 4 <= length <= MAX_LENGTH:
        raise FrameError(f"length {length} out of range 4..{MAX_LENGTH}")
    if len(frame) != HEADER + length:
        raise FrameError(f"length says {HEADER + length} bytes, frame has {len(frame)}")
    expected = checksum(frame[5:-1])
    if frame[-1] != expected:
        raise FrameError(f"checksum {frame[-1]:02X}, expected {expected:02X}")
    return Answer(frame[7], frame[8], frame[9], frame[10:-1])


def parse_card(data: bytes) -> CardRead:
    """The ID number and name in a read answer's data; the photo and the other
    fields are not kept. `FrameError` when it is not a resident ID card's text."""
    if len(data) < 4:
        raise FrameError("read answer without block lengths")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if text_len < TEXT_FIELDS_END or 4 + text_len + photo_len > len(data):
        raise FrameError(f"block lengths text {text_len} photo {photo_len} do not fit")
    text = data[4 : 4 + text_len]  # the photo block is never sliced out
    try:
        name = text[NAME[0] : NAME[1]].decode("utf-16-le").strip(" \x00")
        number = text[ID_NUMBER[0] : ID_NUMBER[1]].decode("utf-16-le").strip(" \x00").upper()
    except UnicodeDecodeError:
        raise FrameError("text block is not UCS-2") from None
    if not _ID_RE.match(number):
        raise FrameError("no 18-character resident ID number in the text block")
    if not name or not name.isprintable():
        raise FrameError("no name in the text block")
    return CardRead(id_number=number, name=name)


class FrameReader:
    """Reads answer frames off a byte stream, resynchronising on the preamble."""

    def __init__(self, port: Any) -> None:
        self.port = port
        self._buffer = b""

    def clear(self) -> None:
        """Forget what arrived before a new command (a late answer to an old one)."""
        self._buffer = b""
        reset = getattr(self.port, "reset_input_buffer", None)
        if callable(reset):
            reset()

    def read(self, timeout_s: float) -> bytes | None:
        """The next frame with a plausible header (checksum not yet checked),
        None on timeout; raises `FrameError` for a header that cannot be one."""
        deadline = time.monotonic() + timeout_s
        while True:
            start = self._buffer.find(PREAMBLE)
            if start < 0:
                keep = len(PREAMBLE) - 1  # a preamble split across reads
                if len(self._buffer) > keep:
                    log.debug("id card reader: %d bytes of noise dropped", len(self._buffer) - keep)
                    self._buffer = self._buffer[-keep:]
            elif start > 0:
                log.debug("id card reader: %d bytes of noise before a frame dropped", start)
                self._buffer = self._buffer[start:]
            if self._buffer.startswith(PREAMBLE) and len(self._buffer) >= HEADER:
                length = int.from_bytes(self._buffer[5:7], "big")
                if not 4 <= length <= MAX_LENGTH:
                    self._buffer = self._buffer[1:]  # resync past this false preamble
                    raise FrameError(f"length {length} out of range 4..{MAX_LENGTH}")
                if len(self._buffer) >= HEADER + length:
                    frame = self._buffer[: HEADER + length]
                    self._buffer = self._buffer[HEADER + length :]
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            chunk: bytes = self.port.read(max(1, self.port.in_waiting or 1))
            if chunk:
                self._buffer += chunk


# --- simulated ---------------------------------------------------------------------------


class SimIdCardReader:
    """``place("11010519491231002X", "张三")`` lays a card on the reader (reported
    at once), ``remove()`` lifts it. Keeps only how many cards were placed."""

    def __init__(self) -> None:
        self.placed = 0
        self._on_card: OnCard | None = None

    @property
    def state(self) -> str:
        return "reading" if self._on_card is not None else "idle"

    def start(self, on_card: OnCard) -> None:
        self._on_card = on_card

    def place(self, id_number: str, name: str = "") -> None:
        self.placed += 1
        _deliver(self._on_card, CardRead(id_number=id_number.strip().upper(), name=name.strip()))

    def remove(self) -> None:
        """Nothing to report: the next placement is a new read anyway."""

    def stop(self) -> None:
        self._on_card = None

    def close(self) -> None:
        self.stop()


# --- SAM serial protocol ---------------------------------------------------------------------


class SamIdCardReader(SerialWorker):
    """A reader speaking the SAM_V serial protocol, opened with pyserial's
    ``serial_for_url`` (``/dev/ttyUSB0``, ``socket://host:port``, ``loop://``)."""

    thread_name = "idcard-sam"
    busy = "reading"

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 115200,
        poll_s: float = 0.5,
        answer_timeout_s: float = 1.0,
        port: Any = None,
    ) -> None:
        super().__init__(url, baudrate=baudrate, timeout_s=0.1, join_s=3.0, port=port)
        self.poll_s = poll_s
        self.answer_timeout_s = answer_timeout_s
        self._held = False  # the card on the reader was reported
        self.reads = 0
        self.rejected = 0
        """Answers dropped (bad checksum, bad length, garbled text)."""

    def _run(self, port: Any, on_card: OnCard) -> None:
        frames = FrameReader(port)
        while self._running.is_set():
            try:
                card = self.poll_once(frames)
            except FrameError as exc:
                self.rejected += 1
                self._error = f"bad answer: {exc}"
                log.warning("id card reader %s: answer dropped: %s", self.url, exc)
            except Exception as exc:  # unplugged, a closed socket: report, retry slowly
                self._error = str(exc)[:80] or type(exc).__name__
                log.warning("id card reader %s: %s", self.url, exc)
                self._sleep(1.0)
            else:
                if card is not None:
                    self.reads += 1
                    log.info("id card reader %s: card read %r", self.url, card)
                    _deliver(on_card, card)
            self._sleep(self.poll_s)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self._running.is_set() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))

    def _ask(self, frames: FrameReader, cmd: tuple[int, int]) -> Answer:
        frames.clear()
        frames.port.write(command(*cmd))
        frame = frames.read(self.answer_timeout_s)
        if frame is None:
            raise FrameError(f"no answer to {cmd[0]:02X} {cmd[1]:02X}")
        return parse_answer(frame)

    def poll_once(self, frames: FrameReader) -> CardRead | None:
        """One find → select → read round; the card when a new one was read."""
        found = self._ask(frames, FIND)
        if found.sw3 != FOUND:
            if found.sw3 not in (NO_CARD, NOT_SELECTED):
                log.warning("id card reader %s: find card: %s", self.url, found.status)
            self._error = "" if found.sw3 in (NO_CARD, NOT_SELECTED) else found.status
            self._held = False
            return None
        self._error = ""
        if self._held:
            return None  # reported already; it is still lying there
        selected = self._ask(frames, SELECT)
        if selected.sw3 != OK:
            log.info("id card reader %s: select card: %s", self.url, selected.status)
            return None
        answer = self._ask(frames, READ)
        if answer.sw3 != OK:
            log.warning("id card reader %s: read card: %s", self.url, answer.status)
            return None
        card = parse_card(answer.data)
        self._held = True
        return card


def _deliver(on_card: OnCard | None, card: CardRead) -> None:
    if on_card is None:
        return
    try:
        on_card(card)
    except Exception:
        log.exception("id card consumer failed on a read")


def _mask_id(number: str) -> str:
    return number[:4] + "*" * max(0, len(number) - 8) + number[-4:] if len(number) > 8 else "****"


def _mask_name(name: str) -> str:
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "*" * (len(name) - 2) + name[-1] if len(name) > 2 else name[0] + "*"
