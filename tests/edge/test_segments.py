"""The caller's 4-digit ticket display: a TM1637 driven over gpiozero's mock pins,
read back by a decoder that clocks the bits in as the chip does (`tests.edge.tm1637`)."""

from __future__ import annotations

import time

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]
from pydantic import ValidationError

from anxin.settings import PortsSettings, Tm1637Port
from edge.ports.factory import build_ports
from edge.ports.segments import (
    GLYPHS,
    UNSHOWABLE,
    SimTicketDisplay,
    Tm1637Display,
    fit,
    segments,
)
from tests.edge.tm1637 import DATASHEET, Tm1637Chip, read, wire_chip

CLK, DIO = 23, 24


@pytest.fixture
def chip(pins: MockFactory) -> Tm1637Chip:
    return wire_chip(pins, CLK, DIO)


def _display(pins: MockFactory, *, brightness: int = 4, blink_s: float = 0.3) -> Tm1637Display:
    return Tm1637Display(
        CLK, DIO, brightness=brightness, blink_s=blink_s, bit_delay_s=0, pin_factory=pins
    )


def test_a_ticket_goes_out_as_data_command_address_digits_and_display_control(
    pins: MockFactory, chip: Tm1637Chip
) -> None:
    display = _display(pins, brightness=4)
    assert chip.shown == "    "  # blanked at start: a rebooted Pi's module kept old digits
    chip.commands.clear()

    display.show_ticket("A012")

    assert chip.commands == [[0x40], [0xC0, 0x77, 0x3F, 0x06, 0x5B], [0x88 | 4]]
    assert chip.shown == "A012"
    # 0x40 clocked in least significant bit first.
    assert chip.bits[-7] == [0, 0, 0, 0, 0, 0, 1, 0]
    assert display.state == "ok"  # every byte acknowledged
    assert display.text == "A012"
    display.close()


def test_a_longer_number_shows_its_last_four_characters_and_a_short_one_right_aligned(
    pins: MockFactory, chip: Tm1637Chip
) -> None:
    display = _display(pins)
    display.show_ticket("A1234")
    assert chip.shown == "1234"
    display.show_ticket("12")
    assert chip.shown == "  12"
    display.close()


@pytest.mark.parametrize("level", [0, 3, 7])
def test_brightness_is_the_low_bits_of_the_display_control(
    pins: MockFactory, chip: Tm1637Chip, level: int
) -> None:
    display = _display(pins, brightness=level)
    display.show_ticket("A012")
    assert chip.commands[-1] == [0x88 | level]
    assert (chip.lit, chip.brightness) == (True, level)
    display.close()


def test_a_code_blinks_for_its_seconds_then_the_ticket_is_back(
    pins: MockFactory, chip: Tm1637Chip
) -> None:
    display = _display(pins, blink_s=0.05)
    display.show_ticket("A012")
    chip.history.clear()

    display.show_code("E-01", seconds=0.4)
    assert chip.shown == "E-01"
    assert display.text == "E-01"
    time.sleep(0.6)

    seen = [(text, lit) for text, lit in chip.history]
    assert seen[0] == ("E-01", True)
    assert ("E-01", False) in seen  # dark between flashes: it blinks
    assert sum(1 for s in seen if s == ("E-01", True)) >= 3
    assert seen[-1] == ("A012", True)
    assert chip.shown == display.text == "A012"
    display.close()


def test_a_new_ticket_ends_a_code_at_once(pins: MockFactory, chip: Tm1637Chip) -> None:
    display = _display(pins, blink_s=0.05)
    display.show_code("----", seconds=5)
    display.show_ticket("A013")
    assert chip.shown == "A013"
    time.sleep(0.2)  # the blinking thread has nothing left to blink
    assert chip.shown == "A013"
    display.close()


def test_without_a_chip_the_missing_ack_is_reported_and_nothing_hangs(
    pins: MockFactory,
) -> None:
    # Plain mock pins: DIO floats up (pull-up) on every ninth clock, as with no module.
    started = time.monotonic()
    display = _display(pins)
    display.show_ticket("A012")
    display.show_code("E-09", seconds=0.1)
    time.sleep(0.2)
    assert time.monotonic() - started < 2
    assert display.state == "no ack"
    assert display.text == "A012"
    display.close()
    assert display.state == "closed"


def test_a_chip_that_stops_answering_shows_in_the_state(pins: MockFactory) -> None:
    chip = wire_chip(pins, CLK, DIO)
    display = _display(pins)
    assert display.state == "ok"
    chip.ack = False  # DIO wire broken
    display.show_ticket("A012")
    assert display.state == "no ack"
    chip.ack = True
    display.show_ticket("A013")
    assert display.state == "ok"
    display.close()


def test_close_darkens_the_module_and_frees_the_pins(pins: MockFactory, chip: Tm1637Chip) -> None:
    display = _display(pins)
    display.show_ticket("A012")
    display.close()
    assert chip.commands[-1] == [0x80]
    assert not chip.lit
    again = _display(pins)  # the pins are free again
    again.close()


def test_glyphs_follow_the_datasheet_and_letters_without_one_show_three_bars() -> None:
    for ch, pattern in DATASHEET.items():
        assert segments(ch)[-1] == pattern, ch
    # Upper and lower case in, one glyph out: ticket prefixes are upper case.
    assert segments("b012") == segments("B012")
    assert read(segments("T012")) == "t012"
    # No readable glyph: the three bars, never a wrong letter.
    assert segments("W012")[0] == segments("X012")[0] == UNSHOWABLE == 0x49
    # Best-effort glyphs are distinct from every other glyph ...
    unique = {c: GLYPHS[c] for c in "GIKMNOQRTVY"}
    others = [v for k, v in GLYPHS.items() if k not in unique]
    assert len(set(unique.values())) == len(unique)
    assert not set(unique.values()) & set(others)
    # ... except the documented two that look like digits.
    assert GLYPHS["S"] == GLYPHS["5"]
    assert GLYPHS["Z"] == GLYPHS["2"]
    assert fit("A00012") == "0012"
    assert fit("") == "    "


def test_the_simulated_display_keeps_what_it_showed() -> None:
    display = SimTicketDisplay()
    display.show_ticket("A012")
    display.show_code("E-01", seconds=0.2)
    assert (display.text, display.blinking) == ("E-01", True)
    time.sleep(0.3)
    assert (display.text, display.blinking) == ("A012", False)
    display.clear()
    assert display.text == "    "
    assert display.shown == ["A012", "E-01", "    "]


def test_ports_settings_choose_the_tm1637_and_check_it(pins: MockFactory) -> None:
    config = PortsSettings.model_validate({"digits": {"kind": "tm1637", "clk": CLK, "dio": DIO}})
    assert isinstance(config.digits, Tm1637Port)
    assert config.digits.brightness == 4
    real = build_ports(("digits",), config, sim=False, pin_factory=pins)
    assert isinstance(real.digits, Tm1637Display)
    real.close()
    assert isinstance(build_ports(("digits",), config, sim=True).digits, SimTicketDisplay)
    assert isinstance(build_ports(("digits",), PortsSettings(), sim=False).digits, SimTicketDisplay)
    with pytest.raises(ValidationError, match="two different pins"):
        Tm1637Port(clk=5, dio=5)
    with pytest.raises(ValidationError):
        Tm1637Port(clk=5, dio=6, brightness=8)
