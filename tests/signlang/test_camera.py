"""The camera is read on its own thread and only the newest frame is kept:
a slow consumer gets the latest picture, never a backlog."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from edge.ports.camera import NewestFrameReader, OpenCvCamera, SimCamera
from signlang_terminal.media.tracks import CameraVideoTrack


class FakeCapture:
    """OpenCV's ``read()`` over a generator of numbered frames at a camera's pace."""

    def __init__(self, frames: Iterator[Any], period_s: float = 0.005) -> None:
        self._frames = frames
        self.period_s = period_s
        self.released = False
        self.lock = threading.Lock()

    def read(self) -> tuple[bool, Any]:
        time.sleep(self.period_s)
        with self.lock:
            return True, next(self._frames)

    def release(self) -> None:
        self.released = True


def numbered(width: int = 64, height: int = 48) -> Iterator[Any]:
    n = 0
    while True:
        n += 1
        frame = np.zeros((height, width, 3), np.uint8)
        frame[0, 0, 0] = n % 256
        frame[0, 0, 1] = n // 256
        yield frame


def number_of(frame: Any) -> int:
    return int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1])


def wait_for(check: Any, within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_slow_reader_always_gets_the_newest_frame() -> None:
    capture = FakeCapture(numbered())
    reader = NewestFrameReader(capture)
    reader.start()
    try:
        wait_for(lambda: reader.newest() is not None)
        taken = []
        for _ in range(5):
            time.sleep(0.05)  # the consumer is ten times slower than the camera
            newest = reader.newest()
            assert newest is not None
            taken.append(newest)
        with capture.lock:  # hold the camera: nothing newer can arrive meanwhile
            seq, frame = reader.newest() or (0, None)
            assert seq == reader.frames_read  # the very last frame read
        assert number_of(frame) == seq
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(taken)]
        assert min(gaps) > 3  # frames in between were dropped, not queued
    finally:
        reader.stop()


def test_a_camera_that_gives_no_frames_reports_it_and_recovers() -> None:
    unplugged = threading.Event()
    unplugged.set()

    class Unpluggable(FakeCapture):
        def read(self) -> tuple[bool, Any]:
            if unplugged.is_set():
                time.sleep(self.period_s)
                return False, None
            return super().read()

    reader = NewestFrameReader(Unpluggable(numbered()), retry_s=0.01)
    reader.start()
    try:
        wait_for(lambda: reader.error == "camera gives no frames")
        assert reader.newest() is None
        unplugged.clear()
        wait_for(lambda: reader.newest() is not None)
        assert reader.error == ""
    finally:
        reader.stop()


def test_close_releases_the_capture() -> None:
    capture = FakeCapture(numbered())
    camera = OpenCvCamera(capture=capture)
    camera.start()
    wait_for(lambda: camera.newest() is not None)
    camera.close()
    assert capture.released
    assert camera.newest() is None


async def test_the_video_track_sends_the_newest_camera_picture_at_the_chosen_size() -> None:
    capture = FakeCapture(numbered(640, 480), period_s=0.001)
    camera = OpenCvCamera(capture=capture)
    camera.start()
    try:
        wait_for(lambda: camera.newest() is not None)
        track = CameraVideoTrack(camera, fps=25)
        first = await track.recv()
        track.size = (320, 240)
        second = await track.recv()
        assert (first.width, first.height) == (640, 480)
        assert (second.width, second.height) == (320, 240)
        track.stop()
    finally:
        camera.close()


async def test_sim_camera_is_grey_and_records_its_use() -> None:
    camera = SimCamera()
    assert camera.newest() is None
    camera.start()
    newest = camera.newest()
    assert newest is not None
    assert newest[1].shape == (480, 640, 3)
    camera.close()
    assert camera.history == ["start", "stop"]
