"""One call as one WAV: chime, pause, the sentence, pause, the sentence again.

The composition keeps its timeline (`Segment`s) so the speaker can log it and
tests can check every clip against its place; the samples are plain
concatenation, with digital silence for the pauses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from display.voice.chime import chime
from display.voice.clips import RATE, ClipCache, Samples, write_wav
from display.voice.settings import VoiceSettings
from display.voice.words import Phrase, call_phrases
from edge.ports.speaker import Announcement

CHIME = "<chime>"


@dataclass(frozen=True)
class Segment:
    label: str  # clip text, or CHIME
    start: int  # sample index
    end: int


@dataclass(frozen=True)
class Composition:
    samples: Samples
    segments: tuple[Segment, ...]
    rate: int = RATE

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.rate

    @property
    def words(self) -> list[str]:
        return [s.label for s in self.segments]

    def write(self, path: Path) -> None:
        write_wav(path, self.samples, self.rate)


class Composer:
    def __init__(self, clips: ClipCache, settings: VoiceSettings) -> None:
        self.clips = clips
        self.settings = settings
        self._chime = chime(RATE)

    def phrases(self, call: Announcement) -> list[Phrase]:
        return call_phrases(call.ticket, call.window, call.window_name, self.settings.one_as)

    def compose(self, call: Announcement, *, repeat: int | None = None) -> Composition:
        """The call said `repeat` times (default: the settings' `repeat`)."""
        s = self.settings
        parts: list[Samples] = []
        segments: list[Segment] = []
        at = 0

        def add(label: str, samples: Samples) -> None:
            nonlocal at
            parts.append(samples)
            segments.append(Segment(label, at, at + samples.size))
            at += samples.size

        def pause(ms: int) -> None:
            nonlocal at
            n = round(ms * RATE / 1000)
            parts.append(np.zeros(n, dtype=np.int16))
            at += n

        if s.chime:
            add(CHIME, self._chime)
            pause(s.chime_gap_ms)
        phrases = self.phrases(call)
        for r in range(s.repeat if repeat is None else repeat):
            if r:
                pause(s.repeat_gap_ms)
            for i, phrase in enumerate(phrases):
                if i:
                    pause(s.word_gap_ms)
                for j, text in enumerate(phrase):
                    if j:
                        pause(s.digit_gap_ms)
                    add(text, self.clips.get(text))
        return Composition(np.concatenate(parts), tuple(segments))
