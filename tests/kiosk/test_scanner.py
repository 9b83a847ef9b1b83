"""The kiosk's scanner port: a booking QR code seen by a camera (a synthetic,
tilted, noisy frame), a serial barcode scanner over pyserial's ``loop://``,
and the simulated scanner."""

from __future__ import annotations

import threading
import time
from typing import Any

import cv2
import numpy as np
import qrcode
import serial

from anxin.settings import PortsSettings
from edge.kinds.kiosk_api import appointment_code
from edge.ports.factory import build_ports
from edge.ports.scanner import CameraScanner, SerialScanner, SimScanner, decode_frame

URL = "https://hall.example.cn/book/K7F3Q9XA2B"


def qr_image(data: str, module_px: int = 8) -> np.ndarray[Any, Any]:
    code = qrcode.QRCode(border=4)
    code.add_data(data)
    code.make(fit=True)
    matrix = np.array(code.get_matrix(), dtype=np.uint8)
    grey = ((1 - matrix) * 255).astype(np.uint8)
    return cv2.resize(grey, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


def camera_frame(data: str, *, seed: int = 7) -> np.ndarray[Any, Any]:
    """A 1280x720 BGR frame: a phone screen showing the QR code, held at an
    angle in front of a grey background, with sensor noise and a little blur."""
    rng = np.random.default_rng(seed)
    code = qr_image(data)
    side = code.shape[0]
    src = np.array([[0, 0], [side, 0], [side, side], [0, side]], dtype=np.float32)
    dst = np.array([[420, 150], [830, 190], [800, 600], [390, 560]], dtype=np.float32)
    warp = cv2.getPerspectiveTransform(src, dst)
    background = np.full((720, 1280), 90, dtype=np.uint8)
    shown = cv2.warpPerspective(
        code, warp, (1280, 720), borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    mask = cv2.warpPerspective(np.full_like(code, 255), warp, (1280, 720))
    sharp = np.where(mask > 0, shown, background).astype(np.float32)
    noisy = cv2.GaussianBlur(sharp, (3, 3), 0) + rng.normal(0, 12, sharp.shape)
    grey = np.clip(noisy, 0, 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


class FrameCapture:
    """OpenCV's ``VideoCapture.read()`` over prepared frames, then empty frames."""

    def __init__(self, frames: list[np.ndarray[Any, Any]]) -> None:
        self.frames = frames
        self.reads = 0
        self.released = False

    def read(self) -> tuple[bool, np.ndarray[Any, Any] | None]:
        self.reads += 1
        if self.frames:
            return True, self.frames.pop(0)
        return True, np.full((720, 1280, 3), 90, dtype=np.uint8)

    def release(self) -> None:
        self.released = True


def collect() -> tuple[list[str], threading.Event, Any]:
    got: list[str] = []
    event = threading.Event()

    def on_code(code: str) -> None:
        got.append(code)
        event.set()

    return got, event, on_code


def test_a_tilted_noisy_phone_screen_is_read_and_gives_the_booking_code() -> None:
    frame = camera_frame(URL)
    assert decode_frame(frame) == URL
    assert appointment_code(decode_frame(frame) or "") == "K7F3Q9XA2B"
    assert decode_frame(np.full((720, 1280, 3), 90, dtype=np.uint8)) is None


def test_the_camera_scanner_reports_a_code_once_while_it_is_held_up() -> None:
    frames = [np.full((720, 1280, 3), 90, dtype=np.uint8)] * 3 + [camera_frame(URL)] * 6
    capture = FrameCapture(list(frames))
    scanner = CameraScanner(capture=capture, repeat_s=5.0, idle_s=0.005)
    got, event, on_code = collect()
    scanner.start(on_code)
    try:
        assert event.wait(10), "the code was not read"
        assert scanner.state == "scanning"
        deadline = time.monotonic() + 5
        while capture.frames and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
    finally:
        scanner.close()
    assert got == [URL], "a code held in front of the camera is reported once"
    assert capture.released
    assert scanner.frames_decoded <= scanner.frames_read  # only the newest frame is decoded


def test_a_serial_scanner_sends_codes_with_cr_lf_over_loop() -> None:
    port = serial.serial_for_url("loop://", timeout=0.2)
    scanner = SerialScanner("loop://", port=port, repeat_s=1.0)
    got, event, on_code = collect()
    scanner.start(on_code)
    try:
        port.write(b"K7F3Q9XA2B\r\n")
        assert event.wait(5)
        event.clear()
        port.write(b"K7F3Q9XA2B\r\n")  # the same code again at once: one read
        port.write(b"https://hall.example.cn/book/ABCDEFGH23\r")
        port.write(b"\n\r\n")  # empty lines are no codes
        assert event.wait(5)
        time.sleep(0.3)
    finally:
        scanner.close()
    assert got == ["K7F3Q9XA2B", "https://hall.example.cn/book/ABCDEFGH23"]
    assert [appointment_code(c) for c in got] == ["K7F3Q9XA2B", "ABCDEFGH23"]


def test_the_simulated_scanner_and_the_port_factory() -> None:
    ports = build_ports(["scanner"], PortsSettings(), sim=False)
    assert isinstance(ports.scanner, SimScanner)
    got, _, on_code = collect()
    ports.scanner.start(on_code)
    ports.scanner.scan("K7F3Q9XA2B")
    assert got == ["K7F3Q9XA2B"]
    assert ports.states()["scanner"] == "scanning"
    serial_cfg = PortsSettings.model_validate({"scanner": {"kind": "serial", "url": "loop://"}})
    assert isinstance(build_ports(["scanner"], serial_cfg, sim=False).scanner, SerialScanner)
    assert isinstance(build_ports(["scanner"], serial_cfg, sim=True).scanner, SimScanner)
    camera_cfg = PortsSettings.model_validate({"scanner": {"kind": "camera", "device": 0}})
    assert isinstance(build_ports(["scanner"], camera_cfg, sim=False).scanner, CameraScanner)


def test_what_is_not_a_booking_code_is_refused() -> None:
    for text in ("", "hello", "K7F3Q9XA2", "K7F3Q9XA2B1", "K7F3Q9XA0B", "https://x/t/abcdef"):
        assert appointment_code(text) is None, text
    assert appointment_code(" k7f3q9xa2b ") == "K7F3Q9XA2B"
