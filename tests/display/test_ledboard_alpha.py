"""Alpha Sign Communications Protocol frames: golden bytes, read back field by field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from display.ledboard.alpha import frame_lines, parse
from display.ledboard.settings import LedBoardSettings
from display.ledboard.text import fit

# "A012 请到5号窗口" on a 16-column one-row board at address 00, written by hand
# from the protocol document: sync, heading, Write TEXT file "A", hold, GB2312.
GOLDEN = (
    b"\x00\x00\x00\x00\x00"  # NUL sync
    b"\x01" b"Z" b"00"  # SOH, every sign type, address 00
    b"\x02" b"A" b"A"  # STX, write TEXT file, label A
    b"\x1b" b" " b"b"  # ESC, middle line, hold
    b"A012 " b"\xc7\xeb" b"\xb5\xbd" b"5" b"\xba\xc5" b"\xb4\xb0" b"\xbf\xda"  # 请到5号窗口
    b"\x03" b"09ED"  # ETX, checksum of STX..ETX
    b"\x04"  # EOT
)  # fmt: skip


def board(**kw: object) -> LedBoardSettings:
    return LedBoardSettings(url="loop://", **kw)


def test_a_call_line_makes_the_golden_frame() -> None:
    assert frame_lines(["A012 请到5号窗口"], board()) == GOLDEN


def test_the_frame_reads_back_with_its_fields_and_a_valid_checksum() -> None:
    frame = parse(GOLDEN)
    assert (frame.type_code, frame.address, frame.command, frame.label) == ("Z", "00", "A", "A")
    assert (frame.position, frame.mode) == (b" ", "hold")
    assert frame.checksum_ok
    body = GOLDEN[GOLDEN.index(b"\x02") : GOLDEN.index(b"\x03") + 1]
    assert sum(body) == 0x09ED  # the checksum is the plain 16-bit sum, as the document says
    assert frame.screens() == [["A012 请到5号窗口"]]


def test_a_damaged_frame_fails_its_checksum() -> None:
    damaged = GOLDEN.replace(b"A012", b"A013")
    assert not parse(damaged).checksum_ok


def test_two_row_board_shows_two_calls_per_screen() -> None:
    lines = ["A012 请到 5号窗口", "B003 请到 3号窗口", "A013 请到 12号窗口"]
    settings = board(rows=2, width=20, address="0A", mode="roll_up")
    frame = parse(frame_lines(lines, settings))
    assert frame.checksum_ok
    assert (frame.address, frame.position, frame.mode) == ("0A", b"0", "roll_up")
    assert frame.screens() == [lines[:2], lines[2:]]


def test_a_line_wider_than_the_board_wraps_onto_the_next_screen() -> None:
    # 8 columns: four Chinese characters, broken where the words are
    frame = parse(frame_lines(["A012 请到 5号窗口"], board(width=8)))
    assert frame.screens() == [["A012"], ["请到"], ["5号窗口"]]
    long_name = parse(frame_lines(["请到综合受理窗口办理"], board(width=8)))
    assert long_name.screens() == [["请到综合"], ["受理窗口"], ["办理"]]  # never half a character


def test_truncate_cuts_a_long_line_at_the_board_width() -> None:
    frame = parse(
        frame_lines(["A012 请到 5号窗口", "A013 请到 6号窗口"], board(width=8, overflow="truncate"))
    )
    assert frame.screens() == [["A012 请"], ["A013 请"]]
    assert fit(["A012请"], 5, "truncate") == ["A012"]  # 请 would need columns 5-6


def test_text_cannot_break_the_frame() -> None:
    """A control byte in a line (EOT, ETX, ESC) would end the frame early: dropped."""
    frame = parse(frame_lines(["A012\x04\x03\x1b 请到5号窗口"], board()))
    assert frame.checksum_ok
    assert frame.screens() == [["A012 请到5号窗口"]]


def test_characters_outside_gb2312_show_as_a_box() -> None:
    frame = parse(frame_lines(["王䶮 请到5号窗口"], board()))  # 䶮 is in GB18030 only
    assert frame.screens() == [["王□ 请到5号窗口"]]
    gb18030 = parse(frame_lines(["王䶮 请到5号窗口"], board(encoding="gb18030")))
    assert gb18030.screens("gb18030") == [["王䶮 请到5号窗口"]]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("address", "0G", "two hex digits"),
        ("mode", "blink", "mode 'blink' unknown"),
        ("url", "foo://board", "unknown scheme 'foo'"),
        ("file_label", "0", "priority file"),
        ("rows", 3, "less than or equal to 2"),
    ],
)
def test_bad_board_settings_say_what_is_wrong(field: str, value: object, message: str) -> None:
    kw: dict[str, object] = {"url": "loop://", field: value}
    with pytest.raises(ValidationError, match=message):
        LedBoardSettings(**kw)
