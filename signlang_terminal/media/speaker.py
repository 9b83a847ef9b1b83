"""The terminal's loudspeaker: the interpreter's received voice through ``aplay``.

aiortc has no audio output, so the received frames (av ``AudioFrame``, 48 kHz
s16 from its Opus decoder) are written as raw PCM to an ``aplay -t raw``
started on the first frame and stopped when the call ends. The pipe is
non-blocking: a frame that does not fit (aplay stuck or slow) is dropped,
never waited for, so the call's consumer keeps reading its track. When aplay
is missing or the device cannot be opened the reason is logged once and kept
in `state` (the heartbeat shows it); the frames are still consumed.

What `display.voice.outputs` knows about aplay is reused: the check for a
missing aplay or sound card, and the signs of an unopenable device.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from typing import Any

log = logging.getLogger(__name__)


class Loudspeaker:
    """Plays one call's received audio on ALSA `device` (None: plays nothing).

    `state` is ``off`` (no device configured), ``idle`` (no frame yet),
    ``playing``, ``stopped`` or the reason nothing is heard."""

    def __init__(self, device: str | None) -> None:
        self.device = device
        self.problem: str | None = None
        self.started = False  # aplay was started (first frame)
        self.bytes_written = 0
        self.bytes_dropped = 0
        self.rate: int | None = None
        self.channels: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped = False

    @property
    def state(self) -> str:
        if self.device is None:
            return "off"
        if self.problem is not None:
            return self.problem
        if self._stopped:
            return "stopped"
        return "playing" if self.started else "idle"

    def play(self, frame: Any) -> None:
        """Write one received frame (never blocks, never raises)."""
        if self.device is None or self.problem is not None or self._stopped:
            return
        try:
            pcm = _s16_bytes(frame)
            if self._proc is None:
                self._start(int(frame.sample_rate), len(frame.layout.channels))
            self._write(pcm)
        except Exception as exc:  # the call goes on without sound
            self._fail(f"loudspeaker failed: {exc}")

    def _start(self, rate: int, channels: int) -> None:
        from display.voice.outputs import AplayOutput

        problem = AplayOutput(self.device or "default").problem()
        exe = shutil.which("aplay")
        if problem is not None or exe is None:
            self._fail(problem or "no audio output: aplay is not installed")
            return
        self.rate, self.channels = rate, channels
        args = [exe, "-q", "-t", "raw", "-f", "S16_LE", "-r", str(rate), "-c", str(channels)]
        self._proc = subprocess.Popen(
            [*args, "-D", str(self.device)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self._proc.stdin is not None
        os.set_blocking(self._proc.stdin.fileno(), False)
        self.started = True

    def _write(self, pcm: bytes) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        if proc.poll() is not None:
            self._exited(proc)
            return
        try:
            written = os.write(proc.stdin.fileno(), pcm)
        except BlockingIOError:
            written = 0
        except BrokenPipeError:
            self._exited(proc)
            return
        self.bytes_written += written
        self.bytes_dropped += len(pcm) - written

    def _exited(self, proc: subprocess.Popen[bytes]) -> None:
        from display.voice.outputs import NO_DEVICE_SIGNS

        try:
            rc = proc.wait(timeout=0.5)  # closed its stdin: ending now
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        if any(sign in err for sign in NO_DEVICE_SIGNS):
            self._fail(f"no audio device ({self.device}): {last}")
        else:
            self._fail(f"aplay failed (exit {rc}): {last}")

    def _fail(self, reason: str) -> None:
        if self.problem is None:
            self.problem = reason
            log.warning("loudspeaker %s: %s (the call goes on without sound)", self.device, reason)
        self._close()

    def _close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()  # killed: returns at once

    def stop(self) -> None:
        """The call ended: stop aplay at once (what is still buffered is cut)."""
        self._stopped = True
        self._close()


def _s16_bytes(frame: Any) -> bytes:
    """Interleaved little-endian s16 PCM of an av AudioFrame (s16 or s16p)."""
    name = frame.format.name
    data = frame.to_ndarray()
    if name == "s16":  # packed: shape (1, samples * channels)
        return bytes(data.tobytes())
    if name == "s16p":  # planar: shape (channels, samples)
        return bytes(data.T.tobytes())
    raise ValueError(f"audio format {name} not played (s16 expected)")
