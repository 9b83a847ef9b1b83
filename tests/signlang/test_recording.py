"""Recording a call on the terminal, only with the citizen's consent: what the
file holds when played back (both pictures, the interpreter's voice, the
call's length), that nothing is recorded without consent, that a recorder
that cannot write leaves the call alone, that a console reload continues in
a second file, that the hub hears of it and lists it, and the purge."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from sqlalchemy import select

from anxin.settings import Settings
from broker.credentials import mqtt_password
from broker.recording import RecordingReport
from central.auth.models import Role
from central.db import make_engine, make_sessionmaker
from central.interpreting.models import InterpRecording
from edge.kinds.signlang import terminal_of
from edge.runner import make_agent
from signlang_terminal.media.peer import TerminalPeer
from signlang_terminal.media.recording import DAY_S, CallRecording, RecordingStore
from signlang_terminal.media.stamp import Stamp, read_stamp
from signlang_terminal.media.tracks import SyntheticVideoTrack, ToneAudioTrack
from signlang_terminal.standin import InterpreterStandIn, console_cookie
from signlang_terminal.viewmodel import RECORDING_MARK, Phase
from tests.central.conftest import PASSWORD
from tests.conftest import RunningBroker
from tests.interpreting.conftest import served_hub
from tests.signlang.netns import NamespaceLoop
from tests.signlang.test_call_through_hub import hall, interpreter, until

pytestmark = pytest.mark.timeout(120)
CITIZEN_FROM = 2000  # the citizen camera's frame numbers start here (the interpreter's at 1)
CALL_S = 3.0


def stamp_of(frame: Any) -> Stamp | None:
    return read_stamp(frame.to_ndarray(format="gray"))


class Citizen:
    """The terminal's peers with a camera of their own numbering, and the
    stamps of every interpreter picture the terminal received."""

    def __init__(self) -> None:
        self.received: set[Stamp] = set()

    def peer(self, on_picture: Callable[[Any], None]) -> TerminalPeer:
        camera = SyntheticVideoTrack()
        camera._counter = CITIZEN_FROM - 1

        def picture(frame: Any) -> None:
            stamp = stamp_of(frame)
            if stamp is not None:
                self.received.add(stamp)
            on_picture(frame)

        return TerminalPeer(camera, ToneAudioTrack(), on_picture=picture)


def played_back(path: Path) -> dict[str, Any]:
    """What a player gets from the file: pictures (the stamps in each half)
    and sound (its length and loudest frequency)."""
    left: list[Stamp | None] = []
    right: list[Stamp | None] = []
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        size = (video.codec_context.width, video.codec_context.height)
        for frame in container.decode(video=0):
            gray = frame.to_ndarray(format="gray")
            left.append(read_stamp(gray[:, :640]))
            right.append(read_stamp(gray[:, 640:]))
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].codec_context.sample_rate
        pcm = np.concatenate(
            [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
        ).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm[rate // 2 :]))  # past the encoder's start
    peak_hz = float(np.fft.rfftfreq(len(pcm) - rate // 2, 1 / rate)[int(np.argmax(spectrum))])
    return {"size": size, "left": left, "right": right, "frames": len(left),
            "sound_s": len(pcm) / rate, "peak_hz": peak_hz}  # fmt: skip


async def talk(terminal: Any, seconds: float) -> None:
    vm = terminal.vm
    await until(lambda: vm.phase is Phase.IN_CALL, 10, "the call on screen")
    await asyncio.sleep(seconds)


async def test_a_consented_call_is_recorded_with_both_people_and_the_voice(
    tmp_path: Path, inside: NamespaceLoop
) -> None:
    citizen = Citizen()
    store = RecordingStore(tmp_path / "recordings")
    reports: list[RecordingReport] = []
    place = hall(tmp_path, ask_consent=True, make_peer=citizen.peer, recordings=store,
                 on_recording=reports.append)  # fmt: skip
    async with place as (hub, terminal), interpreter(hub, inside):
        vm = terminal.vm
        await asyncio.sleep(0.2)
        vm.press_call()
        assert vm.citizen().consent_buttons == ("同意录像", "不同意")
        vm.answer_consent(True)
        await talk(terminal, 0.5)
        await until(lambda: vm.citizen().recording == RECORDING_MARK, 3, "the 录像中 mark")
        await asyncio.sleep(CALL_S - 0.5)
        request_id = terminal.request_id
        vm.press_end()
        await until(lambda: bool(reports), 10, "the recording's report")
        assert vm.citizen().recording is None
        times = terminal.times
        assert times.first_frame is not None
        assert times.ended is not None
        call_s = times.ended - times.first_frame

    report = reports[0]
    assert report.saved, report
    assert (report.request_id, report.segment) == (request_id, 1)
    path = tmp_path / "recordings" / f"{request_id}-1.mp4"
    assert report.file == path.name
    assert report.bytes == path.stat().st_size > 50_000
    assert abs(report.duration_s - call_s) < 0.5, (report.duration_s, call_s)

    seen = played_back(path)
    assert seen["size"] == (1280, 480)
    assert abs(seen["frames"] / 25 - call_s) < 0.5, (seen["frames"], call_s)
    # Left: the interpreter's pictures, as the terminal received them.
    left = [s for s in seen["left"] if s is not None]
    assert len(left) >= 0.8 * seen["frames"], seen["frames"]
    assert sum(s in citizen.received for s in left) >= 0.95 * len(left)
    # Right: the citizen's own camera (its numbers start at 2000).
    right = [s for s in seen["right"] if s is not None]
    assert len(right) >= 0.8 * seen["frames"]
    assert all(s.counter >= CITIZEN_FROM for s in right)
    assert not any(s in citizen.received for s in right)
    # The interpreter's voice (the stand-in's 660 Hz tone), not the clerk's 440 Hz.
    assert seen["sound_s"] >= call_s - 0.8, (seen["sound_s"], call_s)
    assert abs(seen["peak_hz"] - 660) < 15, seen["peak_hz"]


async def test_no_consent_no_recording(tmp_path: Path, inside: NamespaceLoop) -> None:
    store = RecordingStore(tmp_path / "recordings")
    reports: list[RecordingReport] = []
    place = hall(tmp_path, ask_consent=True, recordings=store, on_recording=reports.append)
    async with place as (hub, terminal), interpreter(hub, inside):
        vm = terminal.vm
        await asyncio.sleep(0.2)
        vm.press_call()
        vm.answer_consent(False)
        await talk(terminal, 1.5)
        assert terminal.recording is None
        assert vm.citizen().recording is None
        vm.press_end()
        await until(lambda: terminal.peer is None, 5, "the call closed")
        await asyncio.sleep(0.3)
    assert reports == []
    assert not (tmp_path / "recordings").exists() or list((tmp_path / "recordings").iterdir()) == []


async def test_a_recorder_that_cannot_write_leaves_the_call_alone(
    tmp_path: Path, inside: NamespaceLoop
) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the recordings folder should be")
    store = RecordingStore(tmp_path / "not-a-folder" / "recordings")
    reports: list[RecordingReport] = []
    place = hall(tmp_path, ask_consent=True, recordings=store, on_recording=reports.append)
    async with place as (hub, terminal), interpreter(hub, inside) as lina:
        vm = terminal.vm
        await asyncio.sleep(0.2)
        vm.press_call()
        vm.answer_consent(True)
        await talk(terminal, 2.0)
        # Reported at once; the call goes on: pictures, text, no 录像中 mark.
        assert len(reports) == 1
        assert not reports[0].saved
        assert "录像目录不可用" in (reports[0].reason or "")
        assert vm.phase is Phase.IN_CALL
        assert vm.citizen().recording is None
        peer = lina.peer
        assert peer is not None
        assert peer.video_in is not None
        assert peer.video_in.fps() >= 20
        assert await lina.send_text("请出示身份证")
        await until(lambda: vm.clerk().lines, 5, "text after the failure")
        vm.press_end()
        await until(lambda: terminal.peer is None, 5, "the call closed")
        assert vm.citizen().headline == "您已结束通话"
        assert len(reports) == 1  # nothing more to say at the end


async def test_a_full_disk_stops_the_recording_and_says_why(tmp_path: Path) -> None:
    # The segment's file is a link to /dev/full: every write fails with ENOSPC.
    path = tmp_path / "r1-1.mp4"
    path.symlink_to("/dev/full")
    states: list[str] = []
    picture = SyntheticVideoTrack()
    tone = ToneAudioTrack()
    recording = CallRecording(path, "r1", 1, remote=lambda: None,
                              local=lambda: picture.picture(int(time.monotonic() * 25)),
                              on_state=states.append)  # fmt: skip
    recording.start()
    for _ in range(25):  # half a second of the interpreter's voice while it fails
        recording.feed_audio(await tone.recv())
    await until(lambda: recording.state == "failed", 5, "the failure noticed")
    report = await recording.stop()
    assert not report.saved
    assert report.reason is not None
    assert "存储空间已满" in report.reason
    assert states == ["recording", "failed"]
    recording.feed_audio(await tone.recv())  # after the failure: not kept
    assert not recording._audio


async def test_a_recording_never_eats_the_last_free_space(tmp_path: Path) -> None:
    recording = CallRecording(tmp_path / "r2-1.mp4", "r2", 1, remote=lambda: None,
                              local=lambda: None, min_free_bytes=2**62)  # fmt: skip
    recording.start()
    report = await recording.stop()
    assert not report.saved
    assert report.reason is not None
    assert report.reason.startswith("存储空间不足")
    assert not os.listdir(tmp_path)  # no empty file left behind


async def test_a_console_reload_continues_in_a_second_file(
    tmp_path: Path, inside: NamespaceLoop
) -> None:
    store = RecordingStore(tmp_path / "recordings")
    reports: list[RecordingReport] = []
    place = hall(tmp_path, ask_consent=True, recordings=store, on_recording=reports.append)
    async with place as (hub, terminal), interpreter(hub, inside) as lina:
        vm = terminal.vm
        await asyncio.sleep(0.2)
        vm.press_call()
        vm.answer_consent(True)
        await talk(terminal, 1.5)
        request_id = terminal.request_id
        await lina.close_peer()
        await lina._ws.close()  # the console page reloads
        cookie = await console_cookie(hub.url, "lina", PASSWORD)
        again = InterpreterStandIn(hub.url, cookie, peer_runner=inside.run)
        await again.start()
        try:
            await until(lambda: len(reports) == 1, 10, "the first segment closed")
            await until(lambda: terminal.times.first_frame is not None, 10, "pictures again")
            await until(lambda: vm.citizen().recording == RECORDING_MARK, 3, "recording again")
            await asyncio.sleep(1.5)
            vm.press_end()
            await until(lambda: len(reports) == 2, 10, "the second segment closed")
        finally:
            await again.stop()
    assert [(r.request_id, r.segment, r.saved) for r in reports] == [
        (request_id, 1, True),
        (request_id, 2, True),
    ]
    for n in (1, 2):
        seen = played_back(tmp_path / "recordings" / f"{request_id}-{n}.mp4")
        assert seen["frames"] >= 25, (n, seen["frames"])


async def test_the_hub_lists_the_recording_the_device_reported(
    mosquitto: RunningBroker, tmp_path: Path, inside: NamespaceLoop
) -> None:
    db = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    device_id = "signlang-rec"
    async with served_hub(db, tmp_path, mosquitto) as hub:
        settings = Settings(
            hall=mosquitto.hall,
            data_dir=tmp_path / "device",
            mqtt={"host": mosquitto.host, "port": mosquitto.port, "username": device_id,
                  "password": mqtt_password(mosquitto.secret, device_id)},
            device={"id": device_id, "kind": "signlang", "sim": True},
            signlang={"hub_url": hub.url, "ask_recording_consent": True},
        )  # fmt: skip
        agent = make_agent(settings)
        await agent.start()
        try:
            vm = terminal_of(device_id).vm
            await until(lambda: vm.phase is Phase.IDLE, 15, "online for calls")
            async with interpreter(hub, inside):
                await asyncio.sleep(0.2)
                vm.press_call()
                vm.answer_consent(True)
                await talk(terminal_of(device_id).terminal, 2.0)
                vm.press_end()
                terminal = terminal_of(device_id).terminal
                await until(lambda: bool(terminal.recording_reports), 10, "the report")
            report = terminal.recording_reports[-1]
            assert report.saved, report
            folder = tmp_path / "device" / "devices" / device_id / "recordings"
            assert [p.name for p in folder.iterdir()] == [report.file]

            def stored() -> list[tuple[str, str | None, int]]:
                engine = make_engine(db)
                try:
                    with make_sessionmaker(engine)() as s:
                        rows = s.execute(select(InterpRecording.status, InterpRecording.file,
                                                InterpRecording.size_bytes)).all()  # fmt: skip
                        return [tuple(r) for r in rows]  # type: ignore[misc]
                finally:
                    engine.dispose()

            deadline = time.monotonic() + 10
            while not await asyncio.to_thread(stored):
                assert time.monotonic() < deadline, "the hub never stored the report"
                await asyncio.sleep(0.2)
            assert await asyncio.to_thread(stored) == [("saved", report.file, report.bytes)]

            await asyncio.to_thread(hub.add_user, "boss", Role.MANAGER)
            cookie = await hub.cookie("boss")
            async with httpx.AsyncClient(base_url=hub.url, headers={"Cookie": cookie}) as web:
                page = await web.get("/interpreting/records")
            assert page.status_code == 200
            assert "已录像（00:0" in page.text
            assert str(report.file) in page.text
        finally:
            await agent.stop()
            await terminal_of(device_id).terminal.stop()


def test_purge_deletes_old_recordings_only(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path, keep_days=30)
    now = time.time()
    ages = {"a1-1.mp4": 31, "a1-2.mp4": 29, "b2-1.mp4": 45, "c3-1.mp4": 0,
            "notes.txt": 90, "a1-1.mp4.part": 90}  # fmt: skip
    for name, days in ages.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (now - days * DAY_S, now - days * DAY_S))
    (tmp_path / "old-1.mp4").mkdir()  # a folder, whatever its name: not ours
    os.utime(tmp_path / "old-1.mp4", (now - 90 * DAY_S, now - 90 * DAY_S))
    active = tmp_path / "d4-1.mp4"  # being written: kept whatever its time
    active.write_bytes(b"x")
    os.utime(active, (now - 40 * DAY_S, now - 40 * DAY_S))

    assert store.purge(now, keep=frozenset({active})) == ["a1-1.mp4", "b2-1.mp4"]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["a1-1.mp4.part", "a1-2.mp4", "c3-1.mp4", "d4-1.mp4", "notes.txt", "old-1.mp4"]
    assert RecordingStore(tmp_path / "never-made").purge() == []


def test_segment_files_are_never_overwritten(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "recordings")
    assert store.next_path("r1") == (1, tmp_path / "recordings" / "r1-1.mp4")
    (tmp_path / "recordings" / "r1-1.mp4").write_bytes(b"first")
    (tmp_path / "recordings" / "r10-7.mp4").write_bytes(b"another call")
    assert store.next_path("r1")[0] == 2
    assert store.next_path("r1", after=4)[0] == 5  # the terminal's count goes first
    assert store.next_path("r10")[0] == 8
    with pytest.raises(ValueError, match="cannot name a file"):
        store.next_path("../r1")
