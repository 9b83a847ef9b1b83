"""Fitting lines to a character board and encoding them as the board expects.

LED boards are a grid of 8x16 half-width cells: an ASCII character takes one
column, a Chinese character two. A line wider than the board is wrapped onto
the next line (and so onto further pages) or cut, never split inside a
Chinese character. Characters the encoding lacks become □ rather than
breaking the frame; control characters are dropped because they are the
protocols' own framing bytes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Literal

REPLACEMENT = "□"  # in GB2312 (A1F5): a visible "missing character"


def columns(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def width(text: str) -> int:
    return sum(columns(c) for c in text)


def clean(text: str) -> str:
    return "".join(c for c in text if c >= " " and c != "\x7f")


def fit(lines: Sequence[str], board_width: int, overflow: Literal["wrap", "truncate"]) -> list[str]:
    """Every line at most `board_width` columns wide."""
    out: list[str] = []
    for line in lines:
        text = clean(line).rstrip()
        out.extend(_split(text, board_width) if overflow == "wrap" else [_cut(text, board_width)])
    return out


def _cut(line: str, board_width: int) -> str:
    used = 0
    for i, ch in enumerate(line):
        used += columns(ch)
        if used > board_width:
            return line[:i].rstrip()
    return line


def _split(line: str, board_width: int) -> list[str]:
    """Break at the last space that fits (A012 | 请到 5号窗口), else inside the text."""
    pieces: list[str] = []
    while width(line) > board_width:
        cut, used = 0, 0
        for i, ch in enumerate(line):
            used += columns(ch)
            if used > board_width:
                cut = i
                break
        space = line.rfind(" ", 0, cut + 1)
        head, line = (line[:space], line[space + 1 :]) if space > 0 else (line[:cut], line[cut:])
        pieces.append(head.rstrip())
        line = line.lstrip()
    pieces.append(line)
    return pieces


def pages(lines: Sequence[str], rows: int) -> list[list[str]]:
    """Group lines into screens of `rows` lines each."""
    return [list(lines[i : i + rows]) for i in range(0, len(lines), rows)] or [[]]


def encode(text: str, encoding: str) -> bytes:
    """Encode, with □ for characters the board's font table cannot hold."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode(encoding)
        except UnicodeEncodeError:
            out += REPLACEMENT.encode(encoding)
    return bytes(out)
