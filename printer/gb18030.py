"""Chinese text for ESC/POS printers sold in China: GB18030 inside Chinese mode.

python-escpos 3.1 cannot do this: it has no GB18030 code page and, asked for
Chinese, sends the bytes without switching the printer into Chinese mode, so
the printer reads them as a single-byte code page and prints ``?`` for
full-width punctuation (``：，。￥``). Here every run of non-ASCII characters
is wrapped in ``FS &`` (0x1C 0x26, Chinese mode on) … ``FS .`` (0x1C 0x2E, off)
and encoded as GB18030; ASCII stays plain. Control characters in the text
are dropped, so content from elsewhere can never smuggle in a command.

In Chinese mode every character is a full-width 24x24 glyph (two columns of
the 12x24 ASCII font A); `columns` and `wrap` count that way.
"""

from __future__ import annotations

import re
from collections.abc import Callable

FS_CN_ON = b"\x1c\x26"  # FS &
FS_CN_OFF = b"\x1c\x2e"  # FS .

# Characters a line should not start with (closing punctuation).
_NO_LINE_START = set("，。、：；！？）》」』】〕…’”%％,.;:!?)]}·")
Measure = Callable[[str], float]
_WORD = re.compile(r"[!-~]+")  # a run of printable ASCII without spaces


def clean(text: str) -> str:
    """The text without control characters (tabs and newlines become spaces)."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\t\n\r":
            out.append(" ")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            continue
        else:
            out.append(ch)
    return "".join(out)


def encode(text: str) -> bytes:
    """ESC/POS bytes for `text`: ASCII as is, other runs as GB18030 in FS & … FS ."""
    out = bytearray()
    run: list[str] = []

    def flush() -> None:
        if run:
            out.extend(FS_CN_ON + "".join(run).encode("gb18030") + FS_CN_OFF)
            run.clear()

    for ch in clean(text):
        if ord(ch) < 0x80:
            flush()
            out.extend(ch.encode("ascii"))
        else:
            run.append(ch)
    flush()
    return bytes(out)


def char_columns(ch: str) -> int:
    return 1 if ord(ch) < 0x80 else 2


def columns(text: str) -> int:
    """Width in half-width columns as the printer prints it."""
    return sum(char_columns(ch) for ch in text)


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    for m in _WORD.finditer(text):
        tokens.extend(text[pos : m.start()])
        tokens.append(m.group())
        pos = m.end()
    tokens.extend(text[pos:])
    return tokens


def wrap(text: str, width: float, measure: Measure = columns) -> list[str]:
    """Break `text` into lines no wider than `width` (as `measure` counts).

    ASCII words stay whole when they fit on a line, and a line never starts
    with closing punctuation (，。：) if the previous character can move down.
    """
    text = clean(text).strip()
    if not text:
        return [""]
    lines: list[list[str]] = [[]]
    for token in _tokens(text):
        pieces = [token] if measure(token) <= width else list(token)
        for piece in pieces:
            line = lines[-1]
            if not line and piece == " ":
                continue
            if measure("".join([*line, piece])) <= width or not line:
                line.append(piece)
                continue
            carry: list[str] = []
            if piece[0] in _NO_LINE_START and len(line) > 1:
                carry.append(line.pop())
            while line and line[-1] == " ":
                line.pop()
            lines.append([*carry, piece] if piece != " " else carry)
    return ["".join(line).rstrip() for line in lines]
