"""One call's WebRTC peer connection, on the terminal (the offerer) and on the
Python stand-in of an interpreter (the answerer; tests and the benchmark).

The terminal offers its video, its audio and a data channel labelled
``text`` (`broker.signalling.TEXT_CHANNEL`). No trickle ICE: aiortc's
``setLocalDescription`` returns once gathering has completed, and the SDP
then carries every candidate. ICE servers are only what the settings give
(host candidates on the hall LAN, plus a STUN/TURN server such as coturn):
an empty list is passed explicitly, because aiortc otherwise falls back to a
public Google STUN server that a hall network may not reach, and gathering
would wait for it.

Text on the ``text`` channel is plain UTF-8 text, one message per line sent
(`broker.signalling`): no JSON, no trailing newline. What arrives is shown as
it is; a message that holds several lines anyway is shown as several lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)

from broker.signalling import TEXT_CHANNEL
from signlang_terminal.media.adapt import AdaptationPolicy, Level, Sample
from signlang_terminal.media.receive import AudioMeter, VideoMeter
from signlang_terminal.media.speaker import Loudspeaker
from signlang_terminal.media.tracks import PacedVideoTrack

log = logging.getLogger(__name__)

ADAPT_EVERY_S: Final = 1.0
OnText = Callable[[str], None]


@dataclass(frozen=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


def rtc_configuration(servers: Sequence[IceServer]) -> RTCConfiguration:
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in servers
        ]
    )


def lines_of(message: str | bytes) -> list[str]:
    """The lines of one received text message (a binary one is read as UTF-8)."""
    raw = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return [line for line in raw.splitlines() if line.strip()]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def return_freed_memory() -> None:
    """Hand the heap a call freed back to the system (glibc only).

    A call's frames are allocated and freed on the encoder, decoder and
    executor threads; glibc keeps what they freed in per-thread arenas, so the
    process's RSS climbs over the first calls and then creeps (about 0.3 MiB a
    call in the benchmark) although nothing of a call stays alive. Trimming
    after each call keeps RSS at what is really in use, so a leak of ours shows.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class _Peer:
    """What both ends share: received tracks consumed at once (the voice played
    on `speaker`, an ALSA device, when one is given, and handed to any
    `audio_taps`), text, close."""

    def __init__(
        self,
        ice_servers: Sequence[IceServer] = (),
        *,
        read_stamps: bool = False,
        on_text: OnText | None = None,
        on_picture: Callable[[Any], None] | None = None,
        speaker: str | None = None,
    ) -> None:
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        # The received voice is played on this ALSA device (None: not played).
        self.loudspeaker = Loudspeaker(speaker)
        self.read_stamps = read_stamps
        self.on_text = on_text
        self.on_picture = on_picture
        self.video_in: VideoMeter | None = None
        self.audio_in: AudioMeter | None = None
        self.channel: RTCDataChannel | None = None
        # Also given each received audio frame after the consumer (the recording).
        self.audio_taps: list[Callable[[Any], None]] = []
        self.texts: list[str] = []
        self.closed = False
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self.video_in = VideoMeter(
                track, read_stamps=self.read_stamps, on_picture=self.on_picture
            )
            self.video_in.start()
        else:
            self.audio_in = AudioMeter(track, self.loudspeaker, self.audio_taps)
            self.audio_in.start()

    def _wire_channel(self, channel: RTCDataChannel) -> None:
        self.channel = channel

        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            for text in lines_of(message):
                self.texts.append(text)
                if self.on_text is not None:
                    self.on_text(text)

    def send_text(self, text: str) -> bool:
        """Send one line (a text message); False when the channel is not open
        (yet or any more). Several lines go as several messages."""
        if self.channel is None or self.channel.readyState != "open":
            return False
        for line in lines_of(text):
            self.channel.send(line)
        return True

    @property
    def state(self) -> str:
        return str(self.pc.connectionState)

    async def close(self) -> None:
        """Stop every track, consumer and transport of the call (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.audio_taps.clear()
        for sender in self.pc.getSenders():
            if sender.track is not None:
                sender.track.stop()
        for meter in (self.video_in, self.audio_in):
            if meter is not None:
                await meter.stop()
        self.loudspeaker.stop()
        await self.pc.close()


class TerminalPeer(_Peer):
    """The terminal's side: offers video (+ audio) and the text channel, and
    adapts the resolution while the call runs."""

    def __init__(
        self,
        video: PacedVideoTrack,
        audio: MediaStreamTrack | None,
        ice_servers: Sequence[IceServer] = (),
        *,
        policy: AdaptationPolicy | None = None,
        on_level: Callable[[Level], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ice_servers, **kwargs)
        self.video = video
        self.policy = policy
        self.on_level = on_level
        self.pc.addTrack(video)
        if audio is not None:
            self.pc.addTrack(audio)
        else:  # still receive the interpreter's voice
            self.pc.addTransceiver("audio", direction="recvonly")
        self._wire_channel(self.pc.createDataChannel(TEXT_CHANNEL))
        self._adapt_task: asyncio.Task[None] | None = None
        self.samples: list[Sample] = []

    async def offer(self) -> str:
        """The SDP offer with every ICE candidate in it."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        if self.policy is not None and self._adapt_task is None:
            self._adapt_task = asyncio.ensure_future(self._adapt())

    async def _loss(self) -> float:
        """The interpreter's reported loss of our video (RTCP receiver reports)."""
        sender = next((s for s in self.pc.getSenders() if s.track is self.video), None)
        if sender is None:
            return 0.0
        report = await sender.getStats()
        lost = [
            float(getattr(s, "fractionLost", 0.0) or 0.0)
            for s in report.values()
            if s.type == "remote-inbound-rtp"
        ]
        return max(lost, default=0.0)

    async def _adapt(self) -> None:
        assert self.policy is not None
        while not self.closed:
            await asyncio.sleep(ADAPT_EVERY_S)
            meter = self.video.meter
            now = time.monotonic()
            if meter.first_at is None or now - meter.first_at < meter.window_s:
                # ICE and DTLS still connecting: a rate of 0 is no shortage.
                continue
            sample = Sample(
                fps=meter.fps(now),
                encode_ms=meter.encode_ms(),
                loss=await self._loss(),
            )
            self.samples.append(sample)
            level = self.policy.feed(sample)
            if level is not None:
                log.info("video now %s (fps %.1f, %.1f ms/frame, loss %.2f)",
                         level.label, sample.fps, sample.encode_ms, sample.loss)  # fmt: skip
                self.video.size = (level.width, level.height)
                if self.on_level is not None:
                    self.on_level(level)

    async def close(self) -> None:
        task, self._adapt_task = self._adapt_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().close()


class AnswerPeer(_Peer):
    """The interpreter's side in Python: answers with its own video and audio
    and measures what it receives (stamps read when `read_stamps`)."""

    def __init__(
        self,
        video: MediaStreamTrack | None,
        audio: MediaStreamTrack | None,
        ice_servers: Sequence[IceServer] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(ice_servers, **kwargs)
        self._tracks = [t for t in (video, audio) if t is not None]
        self.pc.on("datachannel", self._wire_channel)

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for track in self._tracks:
            self.pc.addTrack(track)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)
