"""The synthetic picture of ``--sim``, the tests and the benchmark: a moving
pattern (so the encoder has motion to code, as with a signing person), the
frame counter and capture time as text, and the machine-readable stamp."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import numpy as np

from signlang_terminal.media.stamp import Stamp, draw_stamp, strip_height


def wall_ms() -> int:
    return int(time.time() * 1000)


@lru_cache(maxsize=4)
def _gradients(width: int, height: int) -> Any:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x % 256, (y * 2) % 256, ((x + y) // 2) % 256]).astype(np.uint8)


def draw_pattern(counter: int, now_ms: int, width: int = 640, height: int = 480) -> Any:
    """One BGR frame of the test pattern."""
    import cv2

    base = _gradients(width, height)
    phase = counter * 6
    image = np.empty((height, width, 3), np.uint8)
    # uint8 arithmetic wraps at 256: the gradients scroll for free.
    np.add(base[0], np.uint8(phase % 256), out=image[..., 0])
    np.add(base[1], np.uint8(phase // 2 % 256), out=image[..., 1])
    np.subtract(base[2], np.uint8(phase % 256), out=image[..., 2])
    # A "hand": a bright disc sweeping across, as fast as a signing hand.
    cx = int(width / 2 + width / 3 * np.sin(counter / 8))
    cy = int(height / 2 + height / 4 * np.cos(counter / 5))
    cv2.circle(image, (cx, cy), max(8, width // 12), (255, 255, 255), -1)
    scale = width / 640
    top = strip_height(height) + int(40 * scale)
    clock = time.strftime("%H:%M:%S", time.localtime(now_ms / 1000)) + f".{now_ms % 1000:03d}"
    for i, text in enumerate((f"#{counter}", clock)):
        org = (int(12 * scale), top + int(i * 44 * scale))
        cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 1.2 * scale, (0, 0, 0), 6)
        cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 1.2 * scale, (255, 255, 255), 2)
    draw_stamp(image, Stamp(now_ms, counter))
    return image
