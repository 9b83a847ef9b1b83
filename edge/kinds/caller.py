"""The window caller: buttons at a clerk's window, the window's LED and a
small 4-digit ticket display.

A button press becomes a ``button`` event through the durable outbox; the hub
decides what it means (next ticket, recall, transfer, pause) for the window an
admin bound this caller to (the ``window`` setting of its retained config)
and answers with ``cmd/feedback`` (`broker.contract.CallerFeedback`):

- accepted: the LED lights once, long (`ACCEPTED_BLINK`);
- refused (nobody waiting, window not signed in, paused, not bound, …): the
  LED blinks fast (`REFUSED_BLINK`) and the display blinks the refusal's
  code (`REFUSAL_CODES`) for `CODE_S` seconds.

The display (port ``digits``, `edge.ports.segments`) otherwise shows the
window's current ticket all the time, whoever acted: the caller follows its
window's retained ``hall/window/{n}`` (`broker.contract.HallWindow`), so a
call from the clerk's workstation page shows on the box as a press does.
What it shows (`window_text`):

==============================  ============================
the window                      the display
==============================  ============================
has a ticket (called, serving)  the ticket, e.g. ``A012`` (a
                                longer number: its last four
                                characters)
open, no ticket                 ``----``
paused, no ticket               ``P---``
closed (nobody signed in)       dark
caller not bound to a window    ``E-03``
caller disabled by the admin    dark
==============================  ============================

The five rating buttons (``rate_5`` 非常满意 … ``rate_1`` 非常不满意, wired
like any other button in ``ports.buttons.pins``) go the same way; the hub
stores the rating for the window's last finished ticket, and the screen
thanks the citizen or says why it was not taken.

A screen, on a caller that has one, shows the ticket number or the reason;
the command's result carries the text shown (``shown``) and the display's
four characters (``digits``), so the hub's command log tells what the clerk
saw.
"""

from __future__ import annotations

import logging
from typing import Final

from broker.contract import (
    CallerFeedback,
    Channel,
    DeviceConfig,
    DeviceKind,
    HallWindow,
    Message,
    WindowPhase,
)
from edge.commands import HandlerResult
from edge.kinds.base import DeviceApi, KindSpec
from edge.ports.segments import BLANK

log = logging.getLogger(__name__)

# (on_s, off_s, times)
ACCEPTED_BLINK: Final = (1.0, 0.1, 1)
REFUSED_BLINK: Final = (0.12, 0.12, 4)
SHOWN_S: Final = 5.0
CODE_S: Final = 3.0
"""How long the display blinks a refusal's code before it shows the ticket again."""

IDLE: Final = "----"
PAUSED: Final = "P---"
UNBOUND_TEXT: Final = "E-03"

# A refusal's code on the display, by what the hub's Chinese reason says
# (`central.queueing.callers` and the queue's refusals); first match wins.
# `CallerFeedback` carries no code, so the box reads the reason's words; the
# hub's own messages are checked against this table in
# tests/queueing/test_caller_display.py. The clerk's table: docs/queueing.md.
REFUSAL_CODES: Final[tuple[tuple[str, str, str], ...]] = (
    ("没有等候", "----", "nobody waiting"),
    ("未登录", "E-01", "window not signed in"),
    ("已暂停", "E-02", "window paused"),
    ("未绑定", "E-03", "caller not bound to a window"),
    ("未设置转办", "E-04", "no transfer target set for this caller"),
    ("当前没有号码", "E-05", "no ticket at the window (finish, recall, transfer)"),
)
OTHER_CODE: Final = "E-09"


def refusal_code(reason: str | None) -> str:
    """The display's code for a refused press (`REFUSAL_CODES`, else ``E-09``)."""
    for words, code, _what in REFUSAL_CODES:
        if reason and words in reason:
            return code
    return OTHER_CODE


def window_text(window: HallWindow | None, *, bound: bool) -> str:
    """What the display shows steadily for the bound window's state."""
    if not bound:
        return UNBOUND_TEXT
    if window is None or window.status is WindowPhase.CLOSED:
        return BLANK
    if window.ticket:
        return window.ticket
    return PAUSED if window.status is WindowPhase.PAUSED else IDLE


def feedback_text(fb: CallerFeedback) -> str:
    """What a caller's screen shows (Simplified Chinese)."""
    if fb.button.startswith("rate_"):
        return "感谢您的评价" if fb.ok else f"未评价：{fb.reason or '中心拒绝'}"
    if fb.ok:
        where = f"{fb.window} 号窗口 " if fb.window is not None else ""
        if fb.button == "transfer":
            return f"{where}已转办"
        return f"{where}当前号码 {fb.ticket}" if fb.ticket else f"{where}操作成功"
    return f"未执行：{fb.reason or '中心拒绝'}"


def _bound_window(config: DeviceConfig | None) -> int | None:
    value = config.settings.get("window") if config is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Caller:
    """One caller's display logic, on the agent's event loop."""

    def __init__(self, device: DeviceApi) -> None:
        self.device = device
        self.window = _bound_window(device.config)
        self.enabled = device.config is None or device.config.enabled
        self.text: str | None = None  # the steady text last given to the display
        device.on_config(self.on_config)
        device.on_channel(Channel.HALL_WINDOW, self.on_window)
        self.render()

    def window_state(self) -> HallWindow | None:
        if self.window is None:
            return None
        state = self.device.board.get(self.device.topics.hall_window(self.window))
        return state if isinstance(state, HallWindow) else None

    def steady_text(self) -> str:
        if not self.enabled:
            return BLANK
        return window_text(self.window_state(), bound=self.window is not None)

    def render(self, *, force: bool = False) -> None:
        """Show the window's state, when it changed (a change ends a code early)."""
        digits = self.device.ports.digits
        text = self.steady_text()
        if digits is None or (text == self.text and not force):
            return
        self.text = text
        try:
            digits.show_ticket(text)
        except Exception:  # a broken display must not stop the buttons
            log.exception("%s: ticket display failed", self.device.device_id)

    def on_config(self, config: DeviceConfig) -> None:
        self.window = _bound_window(config)
        self.enabled = config.enabled
        self.render()

    def on_window(self, msg: Message) -> None:
        # Validated by the contract already: a malformed payload never arrives here.
        state = msg.payload
        if isinstance(state, HallWindow) and state.window == self.window:
            self.render()

    async def feedback(self, fb: CallerFeedback) -> HandlerResult:
        text = feedback_text(fb)
        log.info("%s: %s %s", self.device.device_id, fb.button, text)
        led, screen, digits = (
            self.device.ports.led,
            self.device.ports.screen,
            self.device.ports.digits,
        )
        if led is not None:
            on_s, off_s, times = ACCEPTED_BLINK if fb.ok else REFUSED_BLINK
            led.blink(on_s=on_s, off_s=off_s, times=times)
        if screen is not None:
            screen.show(text, seconds=SHOWN_S)
        shown = None
        if digits is not None:
            try:
                if fb.ok:  # the ticket now, even if a code was still blinking
                    self.render(force=True)
                    shown = self.text
                else:
                    shown = refusal_code(fb.reason)
                    digits.show_code(shown, seconds=CODE_S)
            except Exception:
                log.exception("%s: ticket display failed", self.device.device_id)
        return {"shown": text, "digits": shown}


def setup(device: DeviceApi) -> None:
    buttons = device.ports.buttons
    if buttons is not None:

        def pressed(name: str) -> None:
            device.emit("button", {"button": name})

        buttons.on_press(pressed)

    caller = Caller(device)
    device.register("feedback", caller.feedback, CallerFeedback)


SPEC = KindSpec(
    DeviceKind.CALLER,
    ("buttons", "led", "digits"),
    setup,
    "window caller: buttons, LED and ticket display",
)
