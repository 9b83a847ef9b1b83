"""Real GPIO adapters on gpiozero's mock pins: press a button, watch the LED."""

from __future__ import annotations

import asyncio

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

from anxin.settings import GpioButtonsPort, GpioLedPort, PortsSettings
from broker.contract import DeviceKind, Event, ResultStatus
from edge.ports.buttons import GpioButtons
from edge.ports.factory import build_ports
from edge.ports.led import GpioLed
from tests.edge.conftest import StartDevice
from tests.edge.support import TinyHub, wait_until

BUTTON_PIN, LED_PIN = 17, 18


async def test_a_pressed_button_calls_back_on_the_event_loop(pins: MockFactory) -> None:
    buttons = GpioButtons({"next": BUTTON_PIN}, bounce_s=0.0, pin_factory=pins)
    pressed: list[str] = []
    buttons.on_press(pressed.append)

    pins.pin(BUTTON_PIN).drive_low()
    assert buttons.state == "held: next"
    await wait_until(lambda: pressed == ["next"], what="press on the loop")

    pins.pin(BUTTON_PIN).drive_high()
    assert buttons.state == "ok"
    buttons.close()


async def test_a_double_press_and_a_long_press_each_fire_once(pins: MockFactory) -> None:
    buttons = GpioButtons({"next": BUTTON_PIN}, bounce_s=0.0, repeat_guard_s=0.3, pin_factory=pins)
    pressed: list[str] = []
    buttons.on_press(pressed.append)
    pin = pins.pin(BUTTON_PIN)

    pin.drive_low()  # a nervous double press: the second is ignored
    pin.drive_high()
    pin.drive_low()
    pin.drive_high()
    await wait_until(lambda: pressed == ["next"], what="the first press")
    await asyncio.sleep(0.35)
    assert pressed == ["next"]

    pin.drive_low()  # held for a while: still one press
    await asyncio.sleep(0.5)
    pin.drive_high()
    await asyncio.sleep(0.05)
    assert pressed == ["next", "next"]
    buttons.close()


async def test_led_blinks_the_number_of_times_asked(pins: MockFactory) -> None:
    led = GpioLed(LED_PIN, pin_factory=pins)

    led.blink(on_s=0.02, off_s=0.02, times=2)
    await asyncio.sleep(0.2)

    pins.pin(LED_PIN).assert_states([False, True, False, True, False])
    assert led.state == "off"
    led.close()


async def test_caller_button_press_puts_an_event_in_the_outbox_and_identify_blinks_the_led(
    hub: TinyHub, start_device: StartDevice, pins: MockFactory
) -> None:
    config = PortsSettings(
        buttons=GpioButtonsPort(pins={"next": BUTTON_PIN}, bounce_s=0.01),
        led=GpioLedPort(pin=LED_PIN),
    )
    ports = build_ports(("buttons", "led"), config, sim=False, pin_factory=pins)
    agent = await start_device("caller-07", DeviceKind.CALLER, ports=ports)

    pins.pin(BUTTON_PIN).drive_low()
    pins.pin(BUTTON_PIN).drive_high()

    await wait_until(lambda: agent.outbox.depth() == 1, what="button event in the outbox")
    (pending,) = agent.outbox.pending()
    event = Event.model_validate_json(pending.body)
    assert (pending.name, event.data) == ("button", {"button": "next"})

    final = await hub.wait_final(hub.command("caller-07", "identify", {"seconds": 0.5}))
    assert final.status is ResultStatus.SUCCEEDED
    await asyncio.sleep(0.7)
    pins.pin(LED_PIN).assert_states([False, True, False])


def test_a_button_the_hub_would_not_know_is_refused_when_the_settings_are_read() -> None:
    with pytest.raises(ValueError, match=r"unknown button.*done"):
        GpioButtonsPort(pins={"next": 17, "done": 23})
    with pytest.raises(ValueError, match="same pin"):
        GpioButtonsPort(pins={"next": 17, "recall": 17})
    wired = GpioButtonsPort(pins={"next": 17, "finish": 23, "transfer": 12, "rate_5": 5})
    assert wired.pins["transfer"] == 12
