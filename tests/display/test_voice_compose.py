"""A composed call says the right words, in the right order, with the right pauses.

The clips are real espeak-ng renderings (cached once per test session); every
check reads the composed WAV back from disk.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from display.voice.chime import chime
from display.voice.clips import RATE, ClipCache, Samples, read_wav
from display.voice.compose import CHIME, Composer
from display.voice.settings import VoiceSettings
from display.voice.tts import EspeakTts
from edge.ports.speaker import Announcement

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed: `make system-deps` (apt-get install espeak-ng)",
)

SENTENCE = ["请", "A", "零", "一", "二", "号", "到", "五", "号窗口", "办理"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> ClipCache:
    return ClipCache(EspeakTts("cmn"), tmp_path_factory.mktemp("clips"))


def call(ticket: str = "A012", window: int = 5, name: str = "5号窗口") -> Announcement:
    return Announcement(ticket, window, name, False, datetime.now(UTC))


def composed_wav(
    clips: ClipCache, settings: VoiceSettings, tmp_path: Path, c: Announcement
) -> Samples:
    composition = Composer(clips, settings).compose(c)
    composition.write(tmp_path / "call.wav")
    samples, rate = read_wav(tmp_path / "call.wav")
    assert rate == RATE
    return samples


def ms(n: int) -> int:
    return round(n * RATE / 1000)


def expected_layout(
    clips: ClipCache, s: VoiceSettings, words: list[str], digit_words: set[int]
) -> list[tuple[str, int, Samples]]:
    """(word, start, samples) for one call, laid out from the clip durations and
    the configured pauses; `digit_words` are indexes said after a digit gap."""
    layout: list[tuple[str, int, Samples]] = []
    at = 0
    if s.chime:
        layout.append((CHIME, 0, chime()))
        at = chime().size + ms(s.chime_gap_ms)
    for r in range(s.repeat):
        if r:
            at += ms(s.repeat_gap_ms)
        for i, w in enumerate(words):
            if i:
                at += ms(s.digit_gap_ms if i in digit_words else s.word_gap_ms)
            clip = clips.get(w)
            layout.append((w, at, clip))
            at += clip.size
    return layout


def test_a_call_is_chime_then_each_clip_in_order_with_exact_pauses(
    clips: ClipCache, tmp_path: Path
) -> None:
    s = VoiceSettings(repeat=1)
    wav = composed_wav(clips, s, tmp_path, call())
    layout = expected_layout(clips, s, SENTENCE, digit_words={2, 3, 4})  # A零一二 said together
    for (word, start, clip), nxt in zip(layout, [*layout[1:], None], strict=True):
        assert np.array_equal(wav[start : start + clip.size], clip), f"{word} not at {start}"
        gap_end = nxt[1] if nxt else wav.size
        assert not wav[start + clip.size : gap_end].any(), f"pause after {word} is not silent"
    assert wav.size == layout[-1][1] + layout[-1][2].size  # nothing after 办理


def test_pauses_heard_between_words_are_the_configured_lengths(
    clips: ClipCache, tmp_path: Path
) -> None:
    """Found in the sound itself: runs of silence of 100 ms or more (longer
    than any silence inside a syllable) are exactly the word pauses."""
    s = VoiceSettings(repeat=1, word_gap_ms=150, digit_gap_ms=40, chime_gap_ms=300)
    wav = composed_wav(clips, s, tmp_path, call())
    runs = silent_runs(wav, min_len=ms(100))
    # chime | 请 | A零一二 | 号 | 到 | 五 | 号窗口 | 办理: seven pauses
    assert [round(n * 1000 / RATE / 10) * 10 for _, n in runs] == [300] + [150] * 6
    sounds = between(runs, wav.size)
    durations = [clips.get(w).size for w in SENTENCE]
    ticket = durations[1] + durations[2] + durations[3] + durations[4] + 3 * ms(40)
    expected = [chime().size, durations[0], ticket, *durations[5:]]
    # a clip may begin or end on a zero sample: allow 2 ms
    assert [abs(a - b) <= ms(2) for a, b in zip(sounds, expected, strict=True)] == [True] * 8


def silent_runs(x: Samples, min_len: int) -> list[tuple[int, int]]:
    zero = np.concatenate(([False], x == 0, [False]))
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    starts, ends = edges[::2], edges[1::2]
    return [(int(a), int(b - a)) for a, b in zip(starts, ends, strict=True) if b - a >= min_len]


def between(runs: list[tuple[int, int]], total: int) -> list[int]:
    bounds = [0, *[v for a, n in runs for v in (a, a + n)], total]
    return [bounds[i + 1] - bounds[i] for i in range(0, len(bounds), 2)]


def test_the_call_is_said_as_many_times_as_configured(clips: ClipCache, tmp_path: Path) -> None:
    s = VoiceSettings(repeat=3)
    composition = Composer(clips, s).compose(call())
    assert composition.words == [CHIME, *SENTENCE * 3]
    wav = composed_wav(clips, s, tmp_path, call())
    layout = expected_layout(clips, s, SENTENCE, digit_words={2, 3, 4})
    for word, start, clip in layout:
        assert np.array_equal(wav[start : start + clip.size], clip), word
    # between two sayings: the repeat pause, silent
    end_first = layout[len(SENTENCE)][1] + layout[len(SENTENCE)][2].size
    second_qing = layout[len(SENTENCE) + 1][1]
    assert second_qing - end_first == ms(s.repeat_gap_ms)
    assert not wav[end_first:second_qing].any()


def test_without_chime_the_call_starts_with_qing(clips: ClipCache) -> None:
    composition = Composer(clips, VoiceSettings(repeat=1, chime=False)).compose(call())
    assert composition.words == SENTENCE
    assert np.array_equal(composition.samples[: clips.get("请").size], clips.get("请"))


@pytest.mark.parametrize(
    ("ticket", "window", "name", "said"),
    [
        (
            "B105",
            12,
            "12号窗口",
            ["请", "B", "一", "零", "五", "号", "到", "十", "二", "号窗口", "办理"],
        ),
        (
            "C020",
            20,
            "20号窗口",
            ["请", "C", "零", "二", "零", "号", "到", "二", "十", "号窗口", "办理"],
        ),
        (
            "A001",
            3,
            "综合受理窗口",
            ["请", "A", "零", "零", "一", "号", "到", "综合受理窗口", "办理"],
        ),
    ],
)
def test_tickets_are_read_digit_by_digit_and_windows_as_numbers(
    clips: ClipCache, ticket: str, window: int, name: str, said: list[str]
) -> None:
    composition = Composer(clips, VoiceSettings(repeat=1, chime=False)).compose(
        call(ticket, window, name)
    )
    assert composition.words == said


def test_one_can_be_read_yao(clips: ClipCache) -> None:
    composition = Composer(clips, VoiceSettings(repeat=1, chime=False, one_as="幺")).compose(
        call("A011", 1, "1号窗口")
    )
    # the ticket's digits are a code (幺); the window is a number (一号窗口)
    assert composition.words == ["请", "A", "零", "幺", "幺", "号", "到", "一", "号窗口", "办理"]
