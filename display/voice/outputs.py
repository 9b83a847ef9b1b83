"""Where a composed call is played: the Pi's sound card through aplay, or a folder.

`AplayOutput` runs alsa-utils' ``aplay -v``: its verbose dump of the PCM setup
is printed right before the first period is written, which is the moment we
report as the first sample. Without a sound card aplay fails at once and the
call is reported failed with "no audio device" — never a silent success.
`FolderOutput` fakes only the sound card: it writes each played WAV into a
folder and, paced like a real card, takes as long as the call lasts.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from display.voice.compose import Composition

NO_DEVICE_SIGNS = ("audio open error", "no soundcards", "cannot find card", "Unknown PCM")


class AudioFailure(RuntimeError):
    """The call was not heard; the message is the reason on the report."""


class AudioOutput(Protocol):
    def play(self, call: Composition, name: str, started: Callable[[], None]) -> None:
        """Play `call` to the end; call `started` when the first sample goes out.
        Raises `AudioFailure` when it could not be played."""
        ...

    def problem(self) -> str | None:
        """Why nothing could be played now (for the heartbeat), or None."""
        ...

    def stop(self) -> None:
        """Cut a call being played short (the device is shutting down)."""
        ...


class AplayOutput:
    def __init__(self, device: str = "default", folder: Path = Path("."), timeout_s: float = 30):
        self.device = device
        self.folder = folder  # where the WAV of the call being played is written
        self.timeout_s = timeout_s
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def problem(self) -> str | None:
        if shutil.which("aplay") is None:
            return "no audio output: aplay is not installed (apt-get install alsa-utils)"
        if self.device == "default" and not _has_sound_card():
            return "no audio device"
        return None

    def play(self, call: Composition, name: str, started: Callable[[], None]) -> None:
        exe = shutil.which("aplay")
        if exe is None:
            raise AudioFailure(
                "no audio output: aplay is not installed (apt-get install alsa-utils)"
            )
        wav = self.folder / "playing.wav"
        call.write(wav)
        with self._lock:
            self._proc = subprocess.Popen(
                [exe, "-v", "-D", self.device, str(wav)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            proc = self._proc
        assert proc.stderr is not None
        timer = threading.Timer(self.timeout_s, proc.kill)
        timer.start()
        seen_start = False
        log: list[str] = []
        try:
            for line in proc.stderr:
                if not seen_start and line.startswith("Its setup is"):
                    seen_start = True
                    started()
                if not line.startswith((" ", "\t")):
                    log.append(line.strip())
            rc = proc.wait()
        finally:
            timer.cancel()
            with self._lock:
                self._proc = None
        if rc != 0:
            detail = "; ".join(log[-2:])
            if any(sign in detail for sign in NO_DEVICE_SIGNS):
                raise AudioFailure(f"no audio device ({self.device}): {log[-1] if log else ''}")
            raise AudioFailure(f"aplay failed (exit {rc}): {detail}")
        if not seen_start:  # an aplay that prints no setup: it still played
            started()

    def stop(self) -> None:
        with self._lock:
            if self._proc is not None:
                self._proc.kill()


def _has_sound_card() -> bool:
    cards = Path("/proc/asound/cards")
    try:
        return cards.is_file() and "no soundcards" not in cards.read_text()
    except OSError:
        return False


class FolderOutput:
    """Each played call becomes ``NNNN-<name>.wav`` in `folder`.

    `pace` is how long playing takes relative to the call's length: 1.0 like
    a sound card (so queued calls wait as in a hall), 0 returns at once.
    """

    def __init__(self, folder: Path, pace: float = 1.0) -> None:
        self.folder = folder
        self.pace = pace
        self._count = len(self.played)  # after a restart, numbering goes on
        self._stop = threading.Event()

    def problem(self) -> str | None:
        return None

    def play(self, call: Composition, name: str, started: Callable[[], None]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._count += 1
        path = self.folder / f"{self._count:04d}-{name}.wav"
        t0 = time.monotonic()
        started()
        call.write(path)
        left = call.duration_s * self.pace - (time.monotonic() - t0)
        if left > 0 and self._stop.wait(left):
            raise AudioFailure("stopped while playing")

    @property
    def played(self) -> list[Path]:
        return sorted(self.folder.glob("*.wav")) if self.folder.is_dir() else []

    def stop(self) -> None:
        self._stop.set()
