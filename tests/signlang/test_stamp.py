"""The capture time drawn into the synthetic picture is read back after
scaling, and a damaged strip is refused rather than misread."""

from __future__ import annotations

import cv2

from signlang_terminal.media.stamp import Stamp, latency_ms, read_stamp
from signlang_terminal.media.synthetic import draw_pattern


def gray(image: object) -> object:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)  # type: ignore[call-overload]


def test_stamp_survives_scaling_down_to_qvga() -> None:
    image = draw_pattern(777, 1_795_000_000_123)
    for size in ((640, 480), (480, 360), (320, 240)):
        scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        assert read_stamp(gray(scaled)) == Stamp(1_795_000_000_123, 777)


def test_a_damaged_stamp_is_refused() -> None:
    image = draw_pattern(5, 1_795_000_000_000)
    image[:24, 100:140] = 255 - image[:24, 100:140]
    assert read_stamp(gray(image)) is None


def test_a_picture_without_a_stamp_is_refused() -> None:
    assert read_stamp(gray(draw_pattern(1, 0)[30:, :])) is None


def test_latency_is_now_minus_capture() -> None:
    assert latency_ms(Stamp(1_000, 0), 1_042) == 42.0
