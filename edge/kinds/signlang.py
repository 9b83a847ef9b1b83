"""The sign-language terminal (专业手语双屏): camera, two screens, WebRTC.

The kind wires the terminal's call controller (`signlang_terminal.terminal.
Terminal`) to the agent: the signalling token and optional settings arrive in
the device's retained config (``signalling_token``, set by the hub for every
``signlang`` device; ``hub_url``, ``location``, ``ask_recording_consent``),
the camera is the ``camera`` port (OpenCV, or the synthetic test pattern with
``--sim``), and the call's phase is reported in the heartbeat. The Kivy
screens (`signlang_terminal.ui`, ``anxin device signlang --ui``) read the
view-model; `terminal_of` finds it.

The camera runs only from the button press to the end of a call: the citizen
is not filmed while nobody is called, and the Pi's CPU stays free.

A call whose citizen agreed on screen is recorded into
``signlang.recordings_dir`` (default ``{data_dir}/devices/{id}/recordings``;
`signlang_terminal.media.recording`); each segment is reported to the hub as
a ``recording_saved`` or ``recording_failed`` event (`broker.recording`), and
recordings older than ``signlang.recordings_keep_days`` are deleted at start
and after each call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from anxin.settings import SignlangSettings
from broker.contract import DeviceConfig, DeviceKind
from broker.recording import RecordingReport
from edge.kinds.base import DeviceApi, KindSpec
from edge.ports.camera import SimCamera

log = logging.getLogger(__name__)


class SignlangDevice:
    def __init__(self, device: DeviceApi) -> None:
        from signlang_terminal.media.recording import RecordingStore
        from signlang_terminal.terminal import Terminal
        from signlang_terminal.viewmodel import Phase, TerminalViewModel

        self.device = device
        settings = device.settings
        self.settings = settings.signlang if settings is not None else SignlangSettings()
        self._default_hub = (
            f"http://{settings.mqtt.host}:{settings.hub.port}"
            if settings is not None
            else "http://127.0.0.1:8000"
        )
        self.vm = TerminalViewModel(ask_consent=self.settings.ask_recording_consent)
        recordings = RecordingStore(
            self.settings.recordings_dir or device.data_dir / "recordings",
            self.settings.recordings_keep_days,
        )
        self.terminal = Terminal(
            self.vm, self._make_peer, recordings=recordings, on_recording=self._report_recording
        )
        request = self.vm.request_call

        def request_with_camera(consent: bool) -> None:
            self._camera(on=True)
            request(consent)

        self.vm.request_call = request_with_camera
        idle = (Phase.IDLE, Phase.OFFLINE, Phase.ENDED)
        self.vm.on_change(lambda: self._camera(on=False) if self.vm.phase in idle else None)
        device.on_config(self.on_config)
        device.port_state("call", lambda: self.vm.phase.value)
        device.port_state("speaker", lambda: self.terminal.speaker_state)
        if device.config is not None:
            self.on_config(device.config)

    def on_config(self, config: DeviceConfig) -> None:
        from signlang_terminal.signalling import terminal_url

        values = config.settings
        self.vm.location = _text(values.get("location"))
        consent = values.get("ask_recording_consent")
        if isinstance(consent, bool):
            self.vm.ask_consent = consent
        token = _text(values.get("signalling_token"))
        if token is None:
            log.warning("%s: no signalling token in the config yet", self.device.device_id)
            return
        hub = _text(values.get("hub_url")) or self.settings.hub_url or self._default_hub
        self.terminal.connect(terminal_url(hub, self.device.device_id, token))

    def _report_recording(self, report: RecordingReport) -> None:
        """Through the durable outbox: the hub hears of it even after a restart."""
        self.device.emit(
            report.event_name,
            report.event_data(),
            event_id=f"rec-{report.request_id}-{report.segment}"[:64],
        )

    def _camera(self, *, on: bool) -> None:
        camera = self.device.ports.camera
        if camera is None:
            return
        try:
            if on and camera.state == "idle":
                camera.start()
            elif not on and camera.state != "idle":
                camera.stop()
        except Exception:  # a broken camera must not stop the call (the citizen still sees)
            log.exception("%s: camera %s failed", self.device.device_id, "start" if on else "stop")

    def _make_peer(self, on_picture: Any) -> Any:
        from signlang_terminal.media.adapt import AdaptationPolicy
        from signlang_terminal.media.peer import TerminalPeer
        from signlang_terminal.media.tracks import (
            CameraVideoTrack,
            SyntheticVideoTrack,
            ToneAudioTrack,
        )

        fps = float(self.settings.fps)
        camera = self.device.ports.camera
        simulated = camera is None or isinstance(camera, SimCamera)
        video = (
            SyntheticVideoTrack(fps=fps)
            if simulated or camera is None
            else CameraVideoTrack(camera, fps=fps)
        )
        audio: Any = ToneAudioTrack() if simulated else self._microphone()
        return TerminalPeer(
            video,
            audio,
            self._ice_servers(),
            policy=AdaptationPolicy(target_fps=fps),
            on_picture=on_picture,
            speaker=self.settings.speaker,
        )

    def _microphone(self) -> Any:
        if not self.settings.microphone:
            return None
        from aiortc.contrib.media import MediaPlayer

        try:
            return MediaPlayer(self.settings.microphone, format="alsa").audio
        except Exception:  # no sound card: the call goes on, listening only
            log.exception("%s: microphone %s", self.device.device_id, self.settings.microphone)
            return None

    def _ice_servers(self) -> list[Any]:
        from signlang_terminal.media.peer import IceServer

        s = self.settings
        password = s.turn_password.get_secret_value() if s.turn_password else None
        return [
            IceServer((url,), s.turn_username, password)
            if url.startswith("turn")
            else IceServer((url,))
            for url in s.ice_servers
        ]

    async def run_until_cancelled(self) -> None:
        """Hold the call controller; on shutdown hang up and release everything."""
        try:
            await self.terminal.purge_recordings()
            await asyncio.Event().wait()
        finally:
            with contextlib.suppress(Exception):
                await self.terminal.stop()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


_terminals: dict[str, SignlangDevice] = {}
_holders: set[asyncio.Task[None]] = set()


def terminal_of(device_id: str | None = None) -> SignlangDevice:
    """The running terminal of this process (by id when there are several)."""
    if device_id is not None:
        return _terminals[device_id]
    if len(_terminals) != 1:
        raise LookupError(f"{len(_terminals)} sign-language terminals run here; name one")
    return next(iter(_terminals.values()))


def setup(device: DeviceApi) -> None:
    terminal = SignlangDevice(device)
    _terminals[device.device_id] = terminal
    # The agent offers kinds no stop hook: this task is cancelled when the
    # device's loop ends, and its `finally` closes any call.
    task = asyncio.ensure_future(terminal.run_until_cancelled())
    _holders.add(task)
    task.add_done_callback(_holders.discard)


SPEC = KindSpec(
    DeviceKind.SIGNLANG,
    ("camera", "screen"),
    setup,
    "sign-language terminal: camera, two screens, WebRTC to an interpreter",
)
