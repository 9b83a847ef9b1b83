"""Rendered clips, cached on disk by voice and text, trimmed to the speech.

A clip's file name is a hash of the engine key (engine, version, voice,
speed, pitch) and the text, so changing the voice or upgrading espeak-ng
renders new clips instead of mixing two voices in one call. Clips are
trimmed of the engine's own leading and trailing silence: the pauses of a
call are ours and exact. Every clip is mono 16-bit at `RATE`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from display.voice.tts import Tts, TtsUnavailable

RATE = 22050  # espeak-ng's own rate: no resampling
PEAK = 0.89  # -1 dBFS: every clip equally loud
SILENCE = 0.02  # of full scale: below this is the engine's silence
FADE_S = 0.004  # a short fade at the cut edges avoids clicks

Samples = npt.NDArray[np.int16]
_FORMAT_VERSION = "2"  # bump when trimming or levelling changes


def read_wav(path: Path) -> tuple[Samples, int]:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected mono 16-bit WAV")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16), (
            w.getframerate()
        )


def write_wav(path: Path, samples: Samples, rate: int = RATE) -> None:
    """Write atomically: a half-written clip must never be taken for a cached one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(samples.astype("<i2").tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def trim_and_level(raw: Samples) -> Samples:
    """Cut the silence around the speech, bring the peak to `PEAK`, fade the edges."""
    x = raw.astype(np.float64) / 32768.0
    loud = np.flatnonzero(np.abs(x) > SILENCE * max(np.abs(x).max(), 1e-9))
    if loud.size == 0:
        raise TtsUnavailable("the speech engine produced silence")
    x = x[loud[0] : loud[-1] + 1]
    x *= PEAK / np.abs(x).max()
    n = min(int(FADE_S * RATE), x.size // 2)
    if n:
        ramp = np.linspace(0.0, 1.0, n, endpoint=False)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return np.round(x * 32767).astype(np.int16)


class ClipCache:
    """Clip texts → samples, rendered once by `tts` into `folder`."""

    def __init__(self, tts: Tts, folder: Path) -> None:
        self.tts = tts
        self.folder = folder
        self._memory: dict[tuple[str, str], Samples] = {}
        self._lock = threading.Lock()

    def path(self, text: str) -> Path:
        digest = hashlib.sha256(f"{_FORMAT_VERSION}\0{self.tts.key}\0{text}".encode()).hexdigest()
        return self.folder / f"{digest[:32]}.wav"

    def get(self, text: str) -> Samples:
        key = (self.tts.key, text)
        with self._lock:
            cached = self._memory.get(key)
            if cached is not None:
                return cached
            path = self.path(text)
            if not path.is_file():
                self._render(text, path)
            samples, rate = read_wav(path)
            if rate != RATE:
                raise TtsUnavailable(f"clip {text!r} is {rate} Hz, not {RATE}")
            self._memory[key] = samples
            return samples

    def _render(self, text: str, path: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            raw_path = Path(tmp) / "raw.wav"
            self.tts.render(text, raw_path)
            raw, rate = read_wav(raw_path)
        if rate != RATE:
            raise TtsUnavailable(f"speech engine speaks at {rate} Hz, expected {RATE}")
        write_wav(path, trim_and_level(raw))

    def prepare(self, texts: Iterable[str]) -> int:
        """Render every clip not yet cached (first run); returns how many were new."""
        new = 0
        for text in texts:
            if not self.path(text).is_file():
                new += 1
            self.get(text)
        return new
