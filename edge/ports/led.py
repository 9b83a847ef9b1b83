"""A single LED: the device's status light or a window's call light."""

from __future__ import annotations

from typing import Any, Protocol


class Led(Protocol):
    @property
    def state(self) -> str: ...

    def on(self) -> None: ...

    def off(self) -> None: ...

    def blink(self, *, on_s: float, off_s: float, times: int) -> None:
        """Blink `times` times in the background, then stay off."""
        ...

    def close(self) -> None: ...


class SimLed:
    """Records what it was told: ``history`` holds "on", "off" and "blink x3"."""

    def __init__(self) -> None:
        self.history: list[str] = []
        self._state = "off"

    @property
    def state(self) -> str:
        return self._state

    def on(self) -> None:
        self._state = "on"
        self.history.append("on")

    def off(self) -> None:
        self._state = "off"
        self.history.append("off")

    def blink(self, *, on_s: float, off_s: float, times: int) -> None:
        self._state = "off"  # where a real LED ends after blinking
        self.history.append(f"blink x{times}")

    def close(self) -> None:
        pass


class GpioLed:
    """A gpiozero LED on a BCM pin (active high)."""

    def __init__(self, pin: int, *, pin_factory: Any = None) -> None:
        try:
            from gpiozero import LED  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("a GPIO LED needs the 'gpio' extra (gpiozero)") from exc
        self._led = LED(pin, pin_factory=pin_factory)

    @property
    def state(self) -> str:
        return "on" if self._led.is_lit else "off"

    def on(self) -> None:
        self._led.on()

    def off(self) -> None:
        self._led.off()

    def blink(self, *, on_s: float, off_s: float, times: int) -> None:
        # gpiozero runs the blink on its own thread; background=True keeps the loop free.
        self._led.blink(on_time=on_s, off_time=off_s, n=times, background=True)

    def close(self) -> None:
        self._led.close()
