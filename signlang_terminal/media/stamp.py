"""A capture time and frame counter drawn into a video frame, readable after
VP8 compression and scaling.

The top strip of the frame holds 64 black/white cells: 44 bits of the capture
time in wall-clock milliseconds (mod 2**44), 12 bits of the frame counter and
an 8-bit check. Cells are 1/64 of the width (10 px at 640) and 1/20 of the
height tall, so they survive downscaling to 320×240 and a low bitrate; the
reader samples the middle of each cell and rejects a strip whose check fails.
Both peers of a test or the benchmark share one clock, so ``now - stamp`` is
the glass-to-glass latency without the display.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

CELLS: Final = 64
TIME_BITS: Final = 44
COUNT_BITS: Final = 12
CHECK_BITS: Final = 8
STRIP_FRACTION: Final = 20  # strip height = frame height / 20


@dataclass(frozen=True)
class Stamp:
    time_ms: int
    counter: int


def _check(value: int) -> int:
    acc = 0x5A
    for shift in range(0, TIME_BITS + COUNT_BITS, 8):
        acc = ((acc * 31) ^ (value >> shift)) & 0xFF
    return acc


def _bits(stamp: Stamp) -> list[int]:
    data = ((stamp.time_ms % (1 << TIME_BITS)) << COUNT_BITS) | (stamp.counter % (1 << COUNT_BITS))
    word = (data << CHECK_BITS) | _check(data)
    return [(word >> (CELLS - 1 - i)) & 1 for i in range(CELLS)]


def strip_height(height: int) -> int:
    return max(8, height // STRIP_FRACTION)


def draw_stamp(image: Any, stamp: Stamp) -> None:
    """Draw `stamp` into the top strip of an H×W×3 uint8 image, in place."""
    height, width = image.shape[:2]
    rows = strip_height(height)
    edges = np.linspace(0, width, CELLS + 1).astype(int)
    for i, bit in enumerate(_bits(stamp)):
        image[:rows, edges[i] : edges[i + 1]] = 255 if bit else 0


def read_stamp(gray: Any) -> Stamp | None:
    """The stamp in an H×W luma image, or None when absent or damaged."""
    height, width = gray.shape[:2]
    rows = strip_height(height)
    top, bottom = rows // 4, max(rows // 4 + 1, rows * 3 // 4)
    edges = np.linspace(0, width, CELLS + 1)
    word = 0
    for i in range(CELLS):
        left, right = edges[i], edges[i + 1]
        pad = (right - left) / 4
        cell = gray[top:bottom, int(left + pad) : max(int(left + pad) + 1, int(right - pad))]
        word = (word << 1) | int(float(cell.mean()) >= 128)
    data, check = word >> CHECK_BITS, word & 0xFF
    if _check(data) != check:
        return None
    return Stamp(time_ms=data >> COUNT_BITS, counter=data & ((1 << COUNT_BITS) - 1))


def latency_ms(stamp: Stamp, now_ms: int) -> float:
    """Milliseconds from capture to `now_ms`, undoing the 44-bit wrap."""
    return float((now_ms - stamp.time_ms) % (1 << TIME_BITS))
