"""The chime before a call: a soft two-tone 叮咚 (E5 then C5), synthesised.

Bell-like partials with an exponential decay; quieter than the speech so it
draws attention without startling a full hall.
"""

from __future__ import annotations

import numpy as np

from display.voice.clips import RATE, Samples

_NOTES = ((659.25, 0.0), (523.25, 0.45))  # Hz, start in seconds
_NOTE_S = 0.9
_LEVEL = 0.5
_PARTIALS = ((1.0, 1.0), (2.0, 0.35), (3.0, 0.12))  # multiple of the note, weight


def chime(rate: int = RATE) -> Samples:
    total = int((_NOTES[-1][1] + _NOTE_S) * rate)
    out = np.zeros(total)
    t = np.arange(int(_NOTE_S * rate)) / rate
    envelope = np.exp(-t * 5.0) * np.minimum(1.0, t / 0.005)  # 5 ms attack: no click
    for freq, start in _NOTES:
        note = sum(w * np.sin(2 * np.pi * freq * m * t) for m, w in _PARTIALS)
        i = int(start * rate)
        out[i : i + t.size] += note * envelope
    out *= _LEVEL / np.abs(out).max()
    # the decay ends near zero, not at zero: end exactly on silence
    out[-int(0.01 * rate) :] *= np.linspace(1.0, 0.0, int(0.01 * rate))
    return np.round(out * 32767).astype(np.int16)
