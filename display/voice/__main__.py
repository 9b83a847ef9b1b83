"""Install-time and bench helpers: ``python -m display.voice prepare|say``.

``prepare`` renders every clip into the device's cache (so the first call of
a new Pi does not wait for espeak-ng); ``say`` writes one composed call to a
WAV file to listen to, with timings.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from display.voice.clips import ClipCache
from display.voice.compose import Composer
from display.voice.settings import VoiceSettings
from display.voice.tts import EspeakTts
from display.voice.words import vocabulary
from edge.ports.speaker import Announcement


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m display.voice")
    parser.add_argument("--cache", type=Path, default=Path("var/voice-clips"), help="clip folder")
    parser.add_argument("--voice", default="cmn", help="espeak-ng voice")
    parser.add_argument("--repeat", type=int, default=2)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="render every clip of a standard call")
    say = sub.add_parser("say", help="compose one call into a WAV file")
    say.add_argument("ticket")
    say.add_argument("window", type=int)
    say.add_argument("--out", type=Path, default=Path("call.wav"))
    args = parser.parse_args(argv)

    settings = VoiceSettings(voice=args.voice, repeat=args.repeat, cache_dir=args.cache)
    clips = ClipCache(EspeakTts(settings.voice, settings.speed_wpm, settings.pitch), args.cache)
    t0 = time.perf_counter()
    new = clips.prepare(vocabulary(settings.one_as))
    print(f"clips: {new} rendered, {time.perf_counter() - t0:.3f} s ({args.cache})")
    if args.command == "say":
        call = Announcement(
            args.ticket, args.window, f"{args.window}号窗口", False, datetime.now(UTC)
        )
        t1 = time.perf_counter()
        composition = Composer(clips, settings).compose(call)
        composed = time.perf_counter() - t1
        composition.write(args.out)
        print(f"composed in {composed * 1000:.1f} ms: {' '.join(composition.words)}")
        print(f"{args.out}: {composition.duration_s:.2f} s")


if __name__ == "__main__":
    main()
