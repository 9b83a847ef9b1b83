"""Window caller devices (呼叫器): a button press becomes a window verb.

A caller emits ``button`` events through its outbox (`edge.kinds.caller`,
data ``{"button": "next"}``). When the bridge stores such an event for the
first time (replays are never run twice: the bridge dedupes by boot and
sequence before this is called), the verb runs for the window bound to the
device, through the same service functions as the REST API, acting for the
clerk signed in there. The timeline event of the ticket records the device.

Binding: the device's ``window`` setting in the registry
(``Device.settings``), set by an admin on the devices page or with
``anxin devices bind caller-07 --window 7``, and published to the device in
its retained config. A ``window`` in the event data is ignored: a device's
word must not choose the window it acts for (any caller could then act for
any window); the binding is the admin's.

Buttons: ``next`` (finishes a ticket at the window with outcome
``completed`` and calls the next: a one-button caller never presses start),
``recall``, ``start``, ``finish``, ``no_show``, ``pause`` (reason ``break``),
``resume`` and ``transfer``.

Transfer (转办): a button box cannot choose a service, so the ``transfer``
button transfers the ticket being served (started) to the caller's
**transfer target**, the device's ``transfer_to`` setting (a service code),
set by an admin beside the window binding (devices page, or ``anxin devices
bind caller-07 --transfer-to realestate``). It runs the queue's own
`service.transfer` with reason code ``preset_route`` (按呼叫器预设业务转办)
and ``return_after`` false, so the ticket's timeline and the hash-chained
fairness log record it like a transfer from the workstation. Without a target
the press is refused (`NO_TRANSFER_TARGET`) and nothing changes.

Rating buttons (好差评): ``rate_5`` … ``rate_1`` rate the ticket the window
finished last (`central.ratings.service.rate_window`, channel ``caller``).
A button box cannot ask why, so a 1 or 2 is stored with the reason code
``unspecified_pad`` rather than refused: a dissatisfied citizen's rating is
never lost; the touch page (``/rate/window/{n}``) asks for reasons.

Feedback: every press is answered with ``cmd/feedback``
(`broker.contract.CallerFeedback`): accepted with the ticket number now at
the window, or refused with the Chinese reason (nobody waiting, window not
signed in, paused, not bound, …), which the caller shows on its LED.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from broker.contract import CallerFeedback, DeviceKind, Event
from central.devices.bridge import CommandRefused, HubBridge, HubOffline
from central.devices.models import Device
from central.devices.service import DeviceNotFound
from central.queueing import reasons as queue_reasons
from central.queueing import service
from central.queueing.clock import HubClock
from central.queueing.errors import QueueError
from central.queueing.events import QueueBus
from central.queueing.models import Service, Window
from central.queueing.service import Actor, Outcome
from central.ratings import codes as rating_codes
from central.ratings.service import RatingRefused, rate_window

log = logging.getLogger(__name__)

WindowOf = Callable[[Session, str], int | None]
TransferOf = Callable[[Session, str], str | None]

FEEDBACK_TIMEOUT_S: Final = 5.0
UNBOUND: Final = "本呼叫器未绑定窗口，请联系管理员"
UNKNOWN_BUTTON: Final = "未知按键"
NO_TRANSFER_TARGET: Final = "未设置转办业务，请在工作台转办"
TRANSFER_REASON: Final = queue_reasons.PRESET_ROUTE

_VERBS: Final[dict[str, tuple[Callable[..., Outcome], dict[str, Any]]]] = {
    "next": (service.call_next, {"finish_current": "completed"}),
    "recall": (service.recall, {}),
    "start": (service.start, {}),
    "finish": (service.finish, {"outcome": "completed"}),
    "no_show": (service.no_show, {"reason": None}),
    "pause": (service.pause, {"reason": "break"}),
    "resume": (service.resume, {}),
    # ``to_service`` comes from the caller's transfer target.
    "transfer": (service.transfer, {"reason": TRANSFER_REASON, "return_after": False}),
}

# Accepted, but nobody came: say so instead of a silent green light.
_NOBODY: Final = "当前没有等候的群众"


def _setting(session: Session, device_id: str, name: str) -> object:
    settings = session.scalar(select(Device.settings).where(Device.id == device_id))
    return (settings or {}).get(name)


def window_from_registry(session: Session, device_id: str) -> int | None:
    """The window an admin bound the device to (its ``window`` setting)."""
    value = _setting(session, device_id, "window")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def transfer_from_registry(session: Session, device_id: str) -> str | None:
    """The service code an admin set as the caller's transfer target (``transfer_to``)."""
    value = _setting(session, device_id, "transfer_to")
    return value if isinstance(value, str) and value else None


def window_exists(session: Session, number: int) -> bool:
    """For the binding forms: a window of the hall, in service."""
    found = session.scalar(
        select(Window.id).where(Window.number == number, Window.active.is_(True))
    )
    return found is not None


def transfer_targets(session: Session) -> list[tuple[str, str]]:
    """For the binding forms: (code, name) of the hall's services in use."""
    rows = session.execute(
        select(Service.code, Service.name).where(Service.active.is_(True)).order_by(Service.code)
    )
    return [(code, name) for code, name in rows]


def service_exists(session: Session, code: str) -> bool:
    """For the binding forms: a service of the hall, in use."""
    found = session.scalar(select(Service.id).where(Service.code == code, Service.active.is_(True)))
    return found is not None


@dataclass(frozen=True)
class Press:
    """What became of one button press (also sent back as `CallerFeedback`)."""

    button: str
    ok: bool
    reason: str | None = None
    ticket: str | None = None
    window: int | None = None

    def feedback(self) -> CallerFeedback:
        return CallerFeedback(
            button=self.button[:32], ok=self.ok, reason=self.reason, ticket=self.ticket,
            window=self.window,
        )  # fmt: skip


class CallerButtons:
    def __init__(
        self,
        *,
        bridge: HubBridge,
        sessions: sessionmaker[Session],
        bus: QueueBus,
        settings: Settings,
        clock: HubClock | None = None,
        window_of: WindowOf = window_from_registry,
        transfer_of: TransferOf = transfer_from_registry,
    ) -> None:
        self._clock = clock or HubClock()
        self._bridge = bridge
        self._sessions = sessions
        self._bus = bus
        self._settings = settings
        self._window_of = window_of
        self._transfer_of = transfer_of
        self._tasks: set[asyncio.Task[Press]] = set()

    def attach(self) -> None:
        self._bridge.on_new_event.append(self.on_event)

    async def idle(self) -> None:
        """Wait for the presses being handled (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def on_event(self, device_id: str, name: str, event: Event) -> None:
        """On the event loop: run a caller's button press, then send its feedback."""
        if name != "button":
            return
        snap = self._bridge.snapshot(device_id)
        if snap is not None and snap.kind != DeviceKind.CALLER.value:
            return
        task = asyncio.get_running_loop().create_task(self._handle(device_id, dict(event.data)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, device_id: str, data: dict[str, Any]) -> Press:
        press = self.press(device_id, data)  # on the loop: see `txn`, "Where a verb runs"
        # The verb left its hall-state round to the loop's next turn
        # (`HallStatePublisher.on_commit`): let it publish the window's topic
        # first, so the box shows the new ticket when its feedback arrives.
        await asyncio.sleep(0)
        try:
            await self._bridge.send_command(
                device_id, "feedback", press.feedback().model_dump(), FEEDBACK_TIMEOUT_S
            )
        except (DeviceNotFound, CommandRefused, HubOffline) as exc:
            log.info("caller %s: no feedback sent: %s", device_id, exc)
        return press

    def press(self, device_id: str, data: dict[str, Any]) -> Press:
        """Run the button's verb; returns (and logs) what happened."""
        raw = data.get("button")
        button = raw if isinstance(raw, str) else str(raw)
        if button in rating_codes.RATING_BUTTONS:
            return self.rate(device_id, button)
        verb = _VERBS.get(button)
        if verb is None:
            log.info("caller %s: unknown button %r", device_id, raw)
            return Press(button, ok=False, reason=UNKNOWN_BUTTON)
        fn, extra = verb
        with self._sessions() as session:
            window = self._window_of(session, device_id)
            if window is None:
                log.warning("caller %s is not bound to a window; %s ignored", device_id, button)
                return Press(button, ok=False, reason=UNBOUND)
            if button == "transfer":
                target = self._transfer_of(session, device_id)
                if target is None:
                    log.info("caller %s at window %d: no transfer target", device_id, window)
                    return Press(button, ok=False, reason=NO_TRANSFER_TARGET, window=window)
                extra = {**extra, "to_service": target}
            session.rollback()  # the binding's read; the verb begins its own transaction
            try:
                outcome = fn(
                    session,
                    window=window,
                    actor=Actor(user_id=None, device_id=device_id),
                    bus=self._bus,
                    settings=self._settings,
                    now=self._clock.now(),
                    **extra,
                )
            except QueueError as exc:
                log.info(
                    "caller %s at window %d: %s refused: %s", device_id, window, button, exc.message
                )
                return Press(button, ok=False, reason=exc.message, window=window)
        number = outcome.ticket.number if outcome.ticket else None
        log.info("caller %s at window %d: %s -> %s", device_id, window, button, number or "-")
        if button == "transfer":
            new = outcome.follow_up.number if outcome.follow_up else "-"
            log.info("caller %s at window %d: %s transferred to %s as %s",
                     device_id, window, number, extra["to_service"], new)  # fmt: skip
            return Press(button, ok=True, window=window)  # nobody at the window now
        if button == "next" and number is None:
            return Press(button, ok=False, reason=_NOBODY, window=window)
        return Press(button, ok=True, ticket=number, window=window)

    def rate(self, device_id: str, button: str) -> Press:
        """A rating button: rate the bound window's last finished ticket."""
        level = rating_codes.RATING_BUTTONS[button]
        reasons = [rating_codes.UNSPECIFIED_PAD] if level in rating_codes.NEEDS_REASON else []
        with self._sessions() as session:
            window = self._window_of(session, device_id)
            if window is None:
                return Press(button, ok=False, reason=UNBOUND)
            session.rollback()
            try:
                rating = rate_window(
                    session, window=window, level=level, reasons=reasons,
                    channel=rating_codes.RatingChannel.CALLER, device_id=device_id,
                    now=self._clock.now(), settings=self._settings,
                )  # fmt: skip
            except RatingRefused as exc:
                log.info("caller %s at window %d: %s refused: %s", device_id, window, button,
                         exc.message)  # fmt: skip
                return Press(button, ok=False, reason=exc.message, window=window)
        log.info("caller %s at window %d: %s for %s", device_id, window, button,
                 rating.ticket_number)  # fmt: skip
        return Press(button, ok=True, ticket=rating.ticket_number, window=window)
