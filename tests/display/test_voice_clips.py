"""Clips come from a real espeak-ng run, are cached, and are rendered again when
the voice changes (never a call mixing two voices)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from display.voice.clips import PEAK, RATE, ClipCache
from display.voice.tts import EspeakTts, TtsUnavailable
from display.voice.words import vocabulary

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed: `make system-deps` (apt-get install espeak-ng)",
)


def test_espeak_renders_every_clip_of_a_call_as_speech(tmp_path: Path) -> None:
    cache = ClipCache(EspeakTts("cmn"), tmp_path)
    t0 = time.perf_counter()
    new = cache.prepare(vocabulary())
    elapsed = time.perf_counter() - t0
    words = vocabulary()
    assert new == len(words) == len(set(words)) == 5 + 10 + 1 + 26
    lengths = {w: cache.get(w).size / RATE for w in words}
    # a syllable is a few tenths of a second; 号窗口 is three of them
    assert all(0.1 < s < 1.2 for w, s in lengths.items() if w != "号窗口"), lengths
    assert lengths["号窗口"] > lengths["号"]
    for w in words:
        clip = cache.get(w)
        assert abs(int(np.abs(clip).max()) - round(PEAK * 32767)) <= 1  # equally loud
        assert clip[0] == 0
        assert clip[-1] == 0
    assert len(list(tmp_path.glob("*.wav"))) == len(words)
    print(f"rendered {new} clips in {elapsed:.2f} s")


def test_clips_are_rendered_once_then_read_from_the_cache(tmp_path: Path) -> None:
    first = ClipCache(EspeakTts("cmn"), tmp_path)
    assert first.prepare(["请", "办理"]) == 2
    stamp = first.path("请").stat().st_mtime_ns
    again = ClipCache(EspeakTts("cmn"), tmp_path)  # a restart
    assert again.prepare(["请", "办理"]) == 0
    assert again.path("请").stat().st_mtime_ns == stamp
    assert np.array_equal(again.get("请"), first.get("请"))


def test_a_new_voice_renders_new_clips(tmp_path: Path) -> None:
    male = ClipCache(EspeakTts("cmn"), tmp_path)
    female = ClipCache(EspeakTts("cmn+f3"), tmp_path)
    faster = ClipCache(EspeakTts("cmn", speed_wpm=200), tmp_path)
    male.prepare(["请"])
    assert female.prepare(["请"]) == 1
    assert faster.prepare(["请"]) == 1
    paths = {male.path("请"), female.path("请"), faster.path("请")}
    assert len(paths) == 3
    assert all(p.is_file() for p in paths)
    assert not np.array_equal(male.get("请"), female.get("请"))
    assert faster.get("请").size < male.get("请").size


def test_an_unknown_voice_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TtsUnavailable, match="voice 'qqq'"):
        ClipCache(EspeakTts("qqq"), tmp_path).get("请")
