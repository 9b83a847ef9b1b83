"""Offline text-to-speech for the clips: espeak-ng's Mandarin voice.

espeak-ng (Debian ``espeak-ng``) is small, offline and on every Pi image; its
``cmn`` voice reads Chinese characters in Mandarin and Latin letters by their
English names (A → "ei"), which is how halls say ticket prefixes. Another
engine only has to provide `Tts`: a ``key`` naming everything that changes
the sound (so the clip cache regenerates) and ``render``.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Protocol


class TtsUnavailable(RuntimeError):
    """The speech engine cannot run here (not installed, unknown voice)."""


class Tts(Protocol):
    @property
    def key(self) -> str:
        """Engine, version, voice and parameters: a new key means new clips."""
        ...

    def render(self, text: str, wav: Path) -> None:
        """Write `text` spoken as a mono 16-bit WAV file."""
        ...


@functools.cache
def _espeak_version(exe: str) -> str:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    return out.stdout.strip().split("  ")[0]  # "eSpeak NG text-to-speech: 1.51"


class EspeakTts:
    def __init__(self, voice: str = "cmn", speed_wpm: int = 175, pitch: int = 50) -> None:
        self.voice = voice
        self.speed_wpm = speed_wpm
        self.pitch = pitch

    def _exe(self) -> str:
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise TtsUnavailable("espeak-ng is not installed (apt-get install espeak-ng)")
        return exe

    @property
    def key(self) -> str:
        version = _espeak_version(self._exe())
        return f"{version}|voice={self.voice}|speed={self.speed_wpm}|pitch={self.pitch}"

    def render(self, text: str, wav: Path) -> None:
        cmd = [self._exe(), "-v", self.voice, "-s", str(self.speed_wpm), "-p", str(self.pitch)]
        done = subprocess.run(
            [*cmd, "-w", str(wav), "--", text], capture_output=True, text=True, timeout=30
        )
        # espeak-ng exits 0 with an unknown voice; its complaint is on stderr
        if done.returncode != 0 or "not found" in done.stderr or not wav.is_file():
            raise TtsUnavailable(f"espeak-ng voice {self.voice!r}: {done.stderr.strip()}")
