"""The Alpha Sign Communications Protocol (Adaptive Micro Systems / Alpha-American,
document 97088061): "Write TEXT file" frames, and a parser for tests and tools.

A frame, byte by byte::

    NUL x5      sync: lets the sign find the baud rate and the frame start
    SOH         start of heading
    'Z'         type code: every sign type
    '00'-'FF'   sign address, two ASCII hex digits ('00': every sign on the line)
    STX         start of text
    'A'         command: write TEXT file
    label       file label ('A')
    ESC pos mode   mode field: display position, then mode code ('b' hold, ...)
    text        lines separated by CR (0x0D, new line), screens by FF (0x0C, new page)
    ETX         end of text
    cccc        checksum: 16-bit sum of the bytes from STX through ETX, 4 ASCII hex
    EOT         end of transmission

Chinese text goes in as GB2312 (or GB18030): every byte of a Chinese
character is 0x81 or above, so it can never be taken for a control code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from display.ledboard.settings import ALPHA_MODES, LedBoardSettings
from display.ledboard.text import encode, fit, pages

NUL, SOH, STX, ETX, EOT, ESC = b"\x00", b"\x01", b"\x02", b"\x03", b"\x04", b"\x1b"
NEW_LINE, NEW_PAGE = b"\x0d", b"\x0c"
SYNC = NUL * 5
ALL_SIGNS = b"Z"
WRITE_TEXT = b"A"
MIDDLE_LINE, FILL = b" ", b"0"  # display positions: one-row sign, several rows


def checksum(body: bytes) -> bytes:
    """`body` runs from STX through ETX inclusive."""
    return b"%04X" % (sum(body) & 0xFFFF)


def text_frame(
    text: bytes, *, address: str = "00", label: str = "A", mode: str = "hold", rows: int = 1
) -> bytes:
    position = MIDDLE_LINE if rows == 1 else FILL
    body = (
        STX + WRITE_TEXT + label.encode("ascii")
        + ESC + position + ALPHA_MODES[mode].encode("ascii")
        + text + ETX
    )  # fmt: skip
    header = SYNC + SOH + ALL_SIGNS + address.upper().encode("ascii")
    return header + body + checksum(body) + EOT


def frame_lines(lines: Sequence[str], settings: LedBoardSettings) -> bytes:
    """The frame that puts `lines` on the board: fitted, paged, encoded."""
    fitted = fit(lines, settings.width, settings.overflow)
    screens = [
        NEW_LINE.join(encode(line, settings.text_encoding) for line in screen)
        for screen in pages(fitted, settings.rows)
    ]
    return text_frame(
        NEW_PAGE.join(screens),
        address=settings.address,
        label=settings.file_label,
        mode=settings.mode,
        rows=settings.rows,
    )


@dataclass(frozen=True)
class ParsedFrame:
    type_code: str
    address: str
    command: str
    label: str
    position: bytes
    mode: str
    text: bytes
    checksum_ok: bool

    def screens(self, encoding: str = "gb2312") -> list[list[str]]:
        return [
            [line.decode(encoding) for line in page.split(NEW_LINE)]
            for page in self.text.split(NEW_PAGE)
        ]


class FrameError(ValueError):
    pass


def parse(frame: bytes) -> ParsedFrame:
    """Read back a Write TEXT frame (what a sign would do), checking the checksum."""
    start = frame.find(SOH)
    if start < 1 or frame[:start].strip(NUL):
        raise FrameError("no NUL sync before SOH")
    if not frame.endswith(EOT):
        raise FrameError("no EOT at the end")
    head, stx, rest = frame[start + 1 :].partition(STX)
    if not stx or len(head) != 3:
        raise FrameError("heading is not type code + two-digit address")
    etx = rest.rfind(ETX)
    if etx < 0 or len(rest) - etx - 1 != 5:
        raise FrameError("no ETX followed by a 4-digit checksum")
    body = stx + rest[: etx + 1]
    inner = rest[:etx]
    if len(inner) < 5 or inner[2:3] != ESC:
        raise FrameError("no mode field after the file label")
    mode = {v: k for k, v in ALPHA_MODES.items()}.get(chr(inner[4]), f"?{inner[4]:02x}")
    return ParsedFrame(
        type_code=chr(head[0]),
        address=head[1:].decode("ascii"),
        command=chr(inner[0]),
        label=chr(inner[1]),
        position=inner[3:4],
        mode=mode,
        text=inner[5:],
        checksum_ok=rest[etx + 1 : etx + 5] == checksum(body),
    )
