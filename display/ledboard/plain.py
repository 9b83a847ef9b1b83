"""The plain-text fallback: each line as GB18030 text ending in CRLF.

Many Chinese-market boards (and serial-to-LED bridge boxes) have a "text
mode" that scrolls in whatever arrives on the line, one line per CRLF; it is
also what a terminal on the other end shows legibly. No framing, no
addressing: one board per serial line.
"""

from __future__ import annotations

from collections.abc import Sequence

from display.ledboard.settings import LedBoardSettings
from display.ledboard.text import encode, fit

CRLF = b"\r\n"


def plain_lines(lines: Sequence[str], settings: LedBoardSettings) -> bytes:
    fitted = fit(lines, settings.width, settings.overflow)
    return b"".join(encode(line, settings.text_encoding) + CRLF for line in fitted)
