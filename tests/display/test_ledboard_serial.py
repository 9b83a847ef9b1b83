"""The LED board port over a real pyserial port (``loop://``): what the board
receives, byte for byte, and what happens when the board is not there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin.settings import PortsSettings, SimPort
from display.ledboard.board import LedBoard
from display.ledboard.settings import LedBoardSettings
from edge.ports.factory import build_ports
from edge.ports.serial_board import SimSerialBoard

from .test_ledboard_alpha import GOLDEN


def received(board: LedBoard) -> bytes:
    port = board.port
    assert port is not None
    return port.read(port.in_waiting)


@pytest.fixture
def alpha() -> Iterator[LedBoard]:
    b = LedBoard(LedBoardSettings(url="loop://"))
    yield b
    b.close()


def test_the_board_receives_the_alpha_frame_byte_for_byte(alpha: LedBoard) -> None:
    alpha.show(["A012 请到5号窗口"])
    assert received(alpha) == GOLDEN
    assert alpha.state == "ok"


def test_each_show_sends_one_whole_frame(alpha: LedBoard) -> None:
    alpha.show(["A012 请到5号窗口"])
    alpha.show(["A013 请到6号窗口"])
    data = received(alpha)
    assert data.count(b"\x01Z00") == 2
    assert data.count(b"\x04") == 2
    assert data.startswith(GOLDEN)


def test_plain_text_board_gets_one_gb18030_line_per_call() -> None:
    board = LedBoard(LedBoardSettings(url="loop://", protocol="plain", width=20))
    try:
        board.show(["A012 请到 5号窗口", "B003 请到 12号窗口", "王䶮 请到 1号窗口"])
        data = received(board)
    finally:
        board.close()
    assert data == (
        b"A012 \xc7\xeb\xb5\xbd 5\xba\xc5\xb4\xb0\xbf\xda\r\n"
        b"B003 \xc7\xeb\xb5\xbd 12\xba\xc5\xb4\xb0\xbf\xda\r\n"
        + "王䶮 请到 1号窗口".encode("gb18030") + b"\r\n"
    )  # fmt: skip
    assert data.decode("gb18030").split("\r\n") == [
        "A012 请到 5号窗口", "B003 请到 12号窗口", "王䶮 请到 1号窗口", ""
    ]  # fmt: skip


def test_plain_text_wraps_long_lines_to_the_board_width() -> None:
    board = LedBoard(LedBoardSettings(url="loop://", protocol="plain", width=10))
    try:
        board.show(["A012 请到 12号窗口"])
        lines = received(board).decode("gb18030").split("\r\n")
    finally:
        board.close()
    assert lines == ["A012 请到", "12号窗口", ""]


def test_a_missing_board_is_reported_not_raised(tmp_path: Path) -> None:
    board = LedBoard(LedBoardSettings(url=str(tmp_path / "ttyUSB9")))
    assert board.state.startswith(f"offline: cannot open {tmp_path / 'ttyUSB9'}")
    board.show(["A012 请到5号窗口"])  # the display carries on
    assert board.state.startswith("offline: cannot open")
    board.close()


def test_the_device_settings_choose_the_board() -> None:
    config = PortsSettings(serial_board=LedBoardSettings(url="loop://", protocol="plain"))
    real = build_ports(["serial_board"], config, sim=False)
    try:
        assert isinstance(real.serial_board, LedBoard)
        assert real.states() == {"serial_board": "ok"}
    finally:
        real.close()
    assert isinstance(build_ports(["serial_board"], config, sim=True).serial_board, SimSerialBoard)
    plain = build_ports(["serial_board"], PortsSettings(serial_board=SimPort()), sim=False)
    assert isinstance(plain.serial_board, SimSerialBoard)


def test_board_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from anxin.settings import load_settings

    monkeypatch.setenv("ANXIN_DEVICE__PORTS__SERIAL_BOARD__KIND", "serial")
    monkeypatch.setenv("ANXIN_DEVICE__PORTS__SERIAL_BOARD__URL", "/dev/ttyUSB0")
    monkeypatch.setenv("ANXIN_DEVICE__PORTS__SERIAL_BOARD__ADDRESS", "0x1")
    with pytest.raises(ValueError, match="address must be two hex digits"):
        load_settings()
