"""The adaptation policy: resolution goes down when CPU or network fall short,
never the frame rate, and comes back only after sustained headroom."""

from __future__ import annotations

import pytest

from signlang_terminal.media.adapt import LEVELS, MIN_FPS, AdaptationPolicy, Sample

HEALTHY = Sample(fps=25.0, encode_ms=8.0)
SLOW_CPU = Sample(fps=17.0, encode_ms=55.0)  # the encoder cannot keep 25 fps at this size
LOSSY = Sample(fps=25.0, encode_ms=8.0, loss=0.15)


def sizes(policy: AdaptationPolicy, samples: list[Sample]) -> list[str]:
    out = []
    for s in samples:
        policy.feed(s)
        out.append(policy.level.label)
    return out


def test_starts_at_vga_and_stays_there_while_healthy() -> None:
    policy = AdaptationPolicy()
    assert sizes(policy, [HEALTHY] * 30)[-1] == "640×480"


def test_slow_encoder_steps_down_one_level_at_a_time() -> None:
    policy = AdaptationPolicy(down_after=2)
    assert sizes(policy, [SLOW_CPU] * 6) == [
        "640×480", "480×360", "480×360", "320×240", "320×240", "320×240",
    ]  # fmt: skip
    assert policy.starved


def test_one_bad_second_does_not_change_the_picture() -> None:
    policy = AdaptationPolicy(down_after=2)
    assert sizes(policy, [SLOW_CPU, HEALTHY, SLOW_CPU, HEALTHY]) == ["640×480"] * 4


def test_loss_reported_by_the_interpreter_steps_down() -> None:
    policy = AdaptationPolicy(down_after=2)
    assert sizes(policy, [LOSSY, LOSSY]) == ["640×480", "480×360"]


def test_too_little_bandwidth_for_the_size_steps_down() -> None:
    policy = AdaptationPolicy(down_after=1)
    thin = Sample(fps=25.0, encode_ms=8.0, bandwidth_kbps=300.0)  # VGA needs 350
    assert sizes(policy, [thin, thin]) == ["480×360", "480×360"]


def test_frame_rate_just_above_the_floor_counts_as_short() -> None:
    # 20.5 fps is legal but the next hiccup is below 20: give up pixels first.
    policy = AdaptationPolicy(down_after=1)
    assert sizes(policy, [Sample(fps=20.5, encode_ms=30.0)]) == ["480×360"]


def test_comes_back_up_only_after_sustained_headroom() -> None:
    policy = AdaptationPolicy(down_after=1, up_after=10)
    policy.feed(SLOW_CPU)
    assert policy.level.label == "480×360"
    light = Sample(fps=25.0, encode_ms=6.0)  # ×1.78 at VGA is still well in budget
    assert sizes(policy, [light] * 9)[-1] == "480×360"
    assert sizes(policy, [light]) == ["640×480"]


def test_no_way_up_when_the_bigger_picture_would_not_fit_the_budget() -> None:
    policy = AdaptationPolicy(down_after=1, up_after=3)
    policy.feed(SLOW_CPU)
    busy = Sample(fps=25.0, encode_ms=20.0)  # ×1.78 = 36 ms at VGA: over 60 % of 40 ms
    assert sizes(policy, [busy] * 20)[-1] == "480×360"


def test_levels_keep_the_aspect_and_end_at_qvga() -> None:
    assert [(lv.width, lv.height) for lv in LEVELS] == [(640, 480), (480, 360), (320, 240)]
    assert LEVELS[-1].width * 3 == LEVELS[-1].height * 4


def test_refuses_a_frame_rate_below_the_floor() -> None:
    with pytest.raises(ValueError, match="below"):
        AdaptationPolicy(target_fps=MIN_FPS - 5)
