"""The call controller: the citizen's buttons, the hub's signalling and the
call's media, on one asyncio loop.

Press → ``Request`` → ``Queued`` (position, wait) → ``Connected`` → the
terminal builds its peer connection and sends the ``Sdp`` offer → the
interpreter's answer → media flows; the first received picture switches the
screen to the call. ``Hangup``/``Ended`` from the hub, 结束通话 on the screen,
a failed connection or a lost hub all end the call the same way: the peer
connection is closed with every track, consumer and transport (`TerminalPeer.
close`), so nothing of a call outlives it.

Recording (docs/interpreting.md, "Recording"): only when the request this
terminal sent carried ``consent_recording=true`` (the citizen pressed 同意录像
and the terminal asks at all), from the first received picture of each peer
connection to its end, one segment per peer connection
(`signlang_terminal.media.recording`). Every ending path stops the recording
(its last frames are written while the peer closes); each segment's report
goes to `on_recording` (the device kind emits it as an event) and old
recordings are purged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from broker.recording import RecordingReport
from broker.signalling import (
    Connected,
    Ended,
    Error,
    Hangup,
    Queued,
    Request,
    Sdp,
    ToSide,
)
from signlang_terminal.media.peer import TerminalPeer, return_freed_memory
from signlang_terminal.media.recording import (
    CallRecording,
    RecordingStore,
    State,
    failure_text,
)
from signlang_terminal.signalling import SignallingClient
from signlang_terminal.viewmodel import Phase, TerminalViewModel

log = logging.getLogger(__name__)

# Builds the peer of one call; `on_picture` is called for each received frame.
PeerFactory = Callable[[Callable[[Any], None]], TerminalPeer]
# Takes the report of each recorded segment (the device kind emits it as an event).
RecordingSink = Callable[[RecordingReport], None]


@dataclass
class CallTimes:
    """Monotonic moments of the current or last call (the benchmark's connect time)."""

    pressed: float | None = None
    connected: float | None = None
    offered: float | None = None
    first_frame: float | None = None
    ended: float | None = None
    levels: list[str] = field(default_factory=list)


class Terminal:
    def __init__(
        self,
        vm: TerminalViewModel,
        make_peer: PeerFactory,
        *,
        recordings: RecordingStore | None = None,
        on_recording: RecordingSink | None = None,
    ) -> None:
        self.vm = vm
        self.make_peer = make_peer
        self.client: SignallingClient | None = None
        self.peer: TerminalPeer | None = None
        self.request_id: str | None = None
        # Where consented calls are recorded (None: never recorded), and who
        # hears of each segment.
        self.recordings = recordings
        self.on_recording = on_recording
        self.recording: CallRecording | None = None
        self.recording_reports: deque[RecordingReport] = deque(maxlen=16)
        self._consent = False  # what the request in progress told the hub
        self._segment = 0  # the request's last segment
        # Requests already over: the hub's late word about one of them (its
        # `Ended` after the citizen hung up and pressed again) is not news.
        self.past_requests: deque[str] = deque(maxlen=16)
        self.times = CallTimes()
        self.calls = 0
        self.calls_closed = 0  # calls whose media is closed and memory returned
        self._speaker_after = "idle"  # the loudspeaker's state left by the last call
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tick: asyncio.Task[None] | None = None
        vm.request_call = lambda consent: self._spawn(self._request(consent))
        vm.cancel_call = lambda: self._spawn(self._hang_up("cancelled"))
        vm.end_call = lambda: self._spawn(self._hang_up("citizen"))
        vm.send_text = self._send_text

    # --- life --------------------------------------------------------------------------

    def connect(self, url: str) -> None:
        """(Re)connect to the hub at `url` (the token is in its query)."""
        if self.client is not None and self.client.url == url:
            return
        old = self.client
        if old is not None:
            self._spawn(old.stop())
        self.client = SignallingClient(url, on_message=self.on_message, on_state=self._on_state)
        self.client.start()
        if self._tick is None:
            self._tick = asyncio.ensure_future(self._ticker())

    async def stop(self) -> None:
        await self._end_media()
        if self.client is not None:
            await self.client.stop()
        if self._tick is not None:
            self._tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick
            self._tick = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def speaker_state(self) -> str:
        """The loudspeaker for the heartbeat: the call's (``playing``, ``idle``
        before its first sound, ``off`` with no speaker configured, or why
        nothing is heard); between calls what the last one left (``idle``,
        ``off`` or its problem, until a call plays)."""
        if self.peer is not None:
            return self.peer.loudspeaker.state
        return self._speaker_after

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.vm.tick()

    def _on_state(self, up: bool) -> None:
        if not up and self.peer is not None:
            self._spawn(self._end_media())
        if not up:
            self._forget_request()
        self.vm.online(up)

    # --- the citizen's side --------------------------------------------------------------

    async def _request(self, consent: bool) -> None:
        self.times = CallTimes(pressed=time.monotonic())
        self._forget_request()
        # Consent counts only when the question was asked on this screen.
        self._consent = consent = consent and self.vm.ask_consent
        self._segment = 0
        if self.client is None or not await self.client.send(Request(consent_recording=consent)):
            self.vm.ended("暂时无法呼叫，请稍后再试")

    async def _hang_up(self, reason: str) -> None:
        request_id = self.request_id
        if request_id is not None and self.client is not None:
            await self.client.send(Hangup(request_id=request_id, reason=reason))
        await self._end_media()

    def _send_text(self, text: str) -> bool:
        return self.peer is not None and self.peer.send_text(text)

    # --- the hub's side ------------------------------------------------------------------

    async def on_message(self, message: ToSide) -> None:
        if isinstance(message, Queued):
            self.request_id = message.request_id
            self.vm.queued(message.position, message.expected_wait_s)
        elif isinstance(message, Connected):
            await self._connected(message)
        elif isinstance(message, Sdp) and message.sdp_type == "answer":
            if self.peer is not None and message.request_id == self.request_id:
                await self.peer.accept_answer(message.sdp)
        elif isinstance(message, Hangup | Ended):
            if message.request_id in self.past_requests:
                return
            # Before `Queued` names the new request, an end with another id is
            # about it (the hub refused or dropped it at once).
            waiting = self.request_id is None and self.vm.phase is Phase.REQUESTING
            if message.request_id == self.request_id or waiting:
                await self._end_media()
                self.vm.ended(_ended_text(message))
        elif isinstance(message, Error):
            log.warning("hub refused: %s", message.reason)
            if self.vm.phase is Phase.REQUESTING:
                self.vm.ended(message.reason)

    async def _connected(self, message: Connected) -> None:
        # `Connected` again for the call in progress: the interpreter's console
        # reloaded and the hub kept the call; its old peer is gone, so offer anew.
        again = message.request_id == self.request_id and self.vm.phase in (
            Phase.CONNECTING,
            Phase.IN_CALL,
        )
        if self.client is None or not (again or self.vm.phase in (Phase.REQUESTING, Phase.QUEUED)):
            return
        self.request_id = message.request_id
        if again:
            self.times.first_frame = None  # the screen shows the call once pictures flow again
        self.times.connected = time.monotonic()
        self.vm.connecting(message.interpreter)
        await self._end_media()  # never two calls' media at once
        peer = self.make_peer(self._on_picture)
        self.peer = peer
        self.calls += 1
        peer.pc.on("connectionstatechange", lambda: self._on_pc_state(peer))
        peer.on_text = self.vm.text_received
        sdp = await peer.offer()
        self.times.offered = time.monotonic()
        await self.client.send(Sdp(request_id=message.request_id, sdp_type="offer", sdp=sdp))

    def _on_picture(self, _frame: Any) -> None:
        if self.peer is None:
            return  # a last frame of a peer being closed: not this call's media
        if self.times.first_frame is None:
            self.times.first_frame = time.monotonic()
            self.vm.media_up()
            self._start_recording()

    def _on_pc_state(self, peer: TerminalPeer) -> None:
        if peer is self.peer and peer.state == "failed":
            log.warning("call %s: media connection failed", self.request_id)
            self._spawn(self._hang_up("media failed"))
            self.vm.ended("视频连接失败，请重新呼叫")

    def _forget_request(self) -> None:
        if self.request_id is not None:
            self.past_requests.append(self.request_id)
        self.request_id = None

    async def _end_media(self) -> None:
        peer, self.peer = self.peer, None
        if peer is not None:
            self.times.ended = time.monotonic()
            # The recording's last frames are written while the peer closes.
            await asyncio.gather(self._stop_recording(peer), peer.close())
            speaker = peer.loudspeaker
            self._speaker_after = speaker.problem or ("off" if speaker.device is None else "idle")
            del peer
            await asyncio.to_thread(return_freed_memory)
            self.calls_closed += 1

    # --- recording ------------------------------------------------------------------------

    def _start_recording(self) -> None:
        """The first picture of a peer connection: record it when the citizen agreed."""
        peer, request_id = self.peer, self.request_id
        if (
            not self._consent
            or self.recordings is None
            or peer is None
            or request_id is None
            or self.recording is not None
        ):
            return
        try:
            segment, path = self.recordings.next_path(request_id, after=self._segment)
        except (OSError, ValueError) as exc:
            self._segment += 1
            reason = failure_text(exc, "无法创建录像目录")
            log.warning("call %s: not recorded: %s", request_id, reason)
            self._report(RecordingReport(request_id=request_id, segment=self._segment,
                                         reason=reason))  # fmt: skip
            return
        self._segment = segment
        video = peer.video
        recording = CallRecording(
            path,
            request_id,
            segment,
            remote=lambda: _newest(peer),
            local=lambda: video.last_picture,
            on_state=self._recording_state,
        )
        try:
            recording.start()
        except Exception as exc:  # e.g. no thread to be had: the call goes on
            log.exception("call %s: recording not started", request_id)
            self._report(RecordingReport(request_id=request_id, segment=segment,
                                         reason=failure_text(exc, "录像未能开始")))  # fmt: skip
            return
        self.recording = recording
        peer.audio_taps.append(recording.feed_audio)
        log.info("call %s: recording to %s", request_id, path.name)

    def _recording_state(self, _state: State) -> None:
        recording = self.recording
        self.vm.recording_shown(recording is not None and recording.recording)

    async def _stop_recording(self, peer: TerminalPeer) -> None:
        recording, self.recording = self.recording, None
        if recording is None:
            return
        with contextlib.suppress(ValueError):
            peer.audio_taps.remove(recording.feed_audio)
        self.vm.recording_shown(False)
        try:
            report = await recording.stop()
        except Exception as exc:  # never let the recording keep the call from ending
            log.exception("call %s: recording not stopped cleanly", recording.request_id)
            report = RecordingReport(request_id=recording.request_id, segment=recording.segment,
                                     reason=failure_text(exc, "录像结束失败"))  # fmt: skip
        if report.saved:
            log.info("call %s: recorded %s (%.1f s, %d bytes)", report.request_id, report.file,
                     report.duration_s, report.bytes)  # fmt: skip
        self._report(report)
        self._spawn(self.purge_recordings())

    def _report(self, report: RecordingReport) -> None:
        self.recording_reports.append(report)
        if self.on_recording is not None:
            try:
                self.on_recording(report)
            except Exception:
                log.exception("recording report %s-%d not sent", report.request_id, report.segment)

    async def purge_recordings(self) -> list[str]:
        """Delete recordings older than the store keeps them (at start, after each call)."""
        store = self.recordings
        if store is None:
            return []
        keep = frozenset({self.recording.path}) if self.recording is not None else frozenset()
        try:
            return await asyncio.to_thread(store.purge, None, keep)
        except Exception:
            log.exception("recordings not purged")
            return []


def _newest(peer: TerminalPeer) -> Any:
    """The newest received picture of `peer` (read by the recording's thread)."""
    meter = peer.video_in
    return meter.latest if meter is not None else None


def _ended_text(message: Hangup | Ended) -> str:
    if isinstance(message, Hangup):
        return "翻译员已结束通话"
    return "通话已结束"
