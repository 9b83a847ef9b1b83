"""Window caller devices (呼叫器): a button press becomes a window verb.

A caller emits ``button`` events through its outbox (`edge.kinds.caller`,
data ``{"button": "next"}``). When the bridge stores such an event for the
first time (replays are never run twice: the bridge dedupes by boot and
sequence before this is called), the verb runs for the window bound to the
device, through the same service functions as the REST API, acting for the
clerk signed in there. The timeline event of the ticket records the device.

Binding: ``window`` (the window number) in the event data. Admin-set device
settings (``DeviceConfig.settings["window"]``) are the intended source, once
the device registry stores settings; `window_of` is the seam for it.

Buttons: ``next`` (finishes a ticket at the window with outcome
``completed`` and calls the next: a one-button caller never presses start),
``recall``, ``start``, ``finish``, ``no_show``, ``pause`` (reason ``break``)
and ``resume``. Refusals are logged with their Chinese reason; nothing is
sent back to the device yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from broker.contract import DeviceKind, Event
from central.devices.bridge import HubBridge
from central.queueing import service
from central.queueing.errors import QueueError
from central.queueing.events import QueueBus
from central.queueing.service import Actor, Outcome

log = logging.getLogger(__name__)

WindowOf = Callable[[Session, str, dict[str, Any]], int | None]

_VERBS: Final[dict[str, tuple[Callable[..., Outcome], dict[str, Any]]]] = {
    "next": (service.call_next, {"finish_current": "completed"}),
    "recall": (service.recall, {}),
    "start": (service.start, {}),
    "finish": (service.finish, {"outcome": "completed"}),
    "no_show": (service.no_show, {"reason": None}),
    "pause": (service.pause, {"reason": "break"}),
    "resume": (service.resume, {}),
}


def window_from_event(_session: Session, _device_id: str, data: dict[str, Any]) -> int | None:
    value = data.get("window")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class CallerButtons:
    def __init__(
        self,
        *,
        bridge: HubBridge,
        sessions: sessionmaker[Session],
        bus: QueueBus,
        settings: Settings,
        window_of: WindowOf = window_from_event,
    ) -> None:
        self._bridge = bridge
        self._sessions = sessions
        self._bus = bus
        self._settings = settings
        self._window_of = window_of
        self._tasks: set[asyncio.Task[str]] = set()

    def attach(self) -> None:
        self._bridge.on_new_event.append(self.on_event)

    async def idle(self) -> None:
        """Wait for the presses being handled (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def on_event(self, device_id: str, name: str, event: Event) -> None:
        """On the event loop: hand a caller's button press to a worker thread."""
        if name != "button":
            return
        snap = self._bridge.snapshot(device_id)
        if snap is not None and snap.kind != DeviceKind.CALLER.value:
            return
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self.press, device_id, dict(event.data))
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def press(self, device_id: str, data: dict[str, Any]) -> str:
        """Run the button's verb; returns (and logs) what happened."""
        button = data.get("button")
        verb = _VERBS.get(button) if isinstance(button, str) else None
        if verb is None:
            log.info("caller %s: unknown button %r", device_id, button)
            return "unknown button"
        fn, extra = verb
        with self._sessions() as session:
            window = self._window_of(session, device_id, data)
            if window is None:
                log.warning("caller %s is not bound to a window; %s ignored", device_id, button)
                return "unbound"
            try:
                outcome = fn(
                    session,
                    window=window,
                    actor=Actor(user_id=None, device_id=device_id),
                    bus=self._bus,
                    settings=self._settings,
                    **extra,
                )
            except QueueError as exc:
                log.info(
                    "caller %s at window %d: %s refused: %s", device_id, window, button, exc.message
                )
                return f"refused: {exc.message}"
        number = outcome.ticket.number if outcome.ticket else "-"
        log.info("caller %s at window %d: %s -> %s", device_id, window, button, number)
        return f"{button}: {number}"
