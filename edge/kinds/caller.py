"""The window caller: buttons at a clerk's window and the window's LED.

A button press becomes a ``button`` event through the durable outbox; the hub
decides what it means (next ticket, recall, pause) for the window an admin
bound this caller to (the ``window`` setting of its retained config) and
answers with ``cmd/feedback`` (`broker.contract.CallerFeedback`):

- accepted: the LED lights once, long (`ACCEPTED_BLINK`);
- refused (nobody waiting, window not signed in, paused, not bound, …): the
  LED blinks fast (`REFUSED_BLINK`).

The five rating buttons (``rate_5`` 非常满意 … ``rate_1`` 非常不满意, wired
like any other button in ``ports.buttons.pins``) go the same way; the hub
stores the rating for the window's last finished ticket, and the screen
thanks the citizen or says why it was not taken.

A screen, on a caller that has one, shows the ticket number or the reason;
the command's result carries the text shown, so the hub's command log tells
what the clerk saw.
"""

from __future__ import annotations

import logging
from typing import Final

from broker.contract import CallerFeedback, DeviceKind
from edge.commands import HandlerResult
from edge.kinds.base import DeviceApi, KindSpec

log = logging.getLogger(__name__)

# (on_s, off_s, times)
ACCEPTED_BLINK: Final = (1.0, 0.1, 1)
REFUSED_BLINK: Final = (0.12, 0.12, 4)
SHOWN_S: Final = 5.0


def feedback_text(fb: CallerFeedback) -> str:
    """What a caller's screen shows (Simplified Chinese)."""
    if fb.button.startswith("rate_"):
        return "感谢您的评价" if fb.ok else f"未评价：{fb.reason or '中心拒绝'}"
    if fb.ok:
        where = f"{fb.window} 号窗口 " if fb.window is not None else ""
        return f"{where}当前号码 {fb.ticket}" if fb.ticket else f"{where}操作成功"
    return f"未执行：{fb.reason or '中心拒绝'}"


def setup(device: DeviceApi) -> None:
    buttons = device.ports.buttons
    if buttons is not None:

        def pressed(name: str) -> None:
            device.emit("button", {"button": name})

        buttons.on_press(pressed)

    async def feedback(fb: CallerFeedback) -> HandlerResult:
        text = feedback_text(fb)
        log.info("%s: %s %s", device.device_id, fb.button, text)
        led, screen = device.ports.led, device.ports.screen
        if led is not None:
            on_s, off_s, times = ACCEPTED_BLINK if fb.ok else REFUSED_BLINK
            led.blink(on_s=on_s, off_s=off_s, times=times)
        if screen is not None:
            screen.show(text, seconds=SHOWN_S)
        return {"shown": text}

    device.register("feedback", feedback, CallerFeedback)


SPEC = KindSpec(DeviceKind.CALLER, ("buttons", "led"), setup, "window caller: buttons and LED")
