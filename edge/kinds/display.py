"""A hall board or window display: screen, serial LED board, speaker.

The board renders the hub's retained hall topics (``hall/calls``,
``hall/window/{n}``, ``hall/queue/{code}``) through a
`display.board.BoardViewModel`; the agent has already validated each message
against the contract (a malformed one is rejected and counted there and never
reaches the board). What to show comes from the device's retained config
(`display.board.BoardSettings`: hall, area or window board, area code, window
number, notices, highlight time, and the voice's repeat count, backlog limit
and chime over the device's own voice settings), so the devices page
re-purposes a board.

For every call the board has not seen before (see `display.board.calls`):

- the speaker announces it, unless its area calls silently (``voice`` false)
  or the board's ``announce`` setting is off, and each announcement's report
  (played; failed with the reason; or skipped by the speaker's backlog
  policy) goes to the hub as an ``announcement`` event through the durable
  outbox: a silent voice, or a backlog, shows on the devices page;
- a serial LED board, when the device has one, gets the newest lines.

The Kivy screen (`display.ui`, ``anxin device display --ui``) reads the same
view-model; `board_of` finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from broker.contract import BoardCall, Channel, DeviceConfig, DeviceKind, Message, utcnow
from display.board import BoardSettings, BoardViewModel
from edge.kinds.base import DeviceApi, KindSpec
from edge.ports.speaker import Announcement, AnnouncementReport

log = logging.getLogger(__name__)

HALL_CHANNELS = (Channel.HALL_CALLS, Channel.HALL_WINDOW, Channel.HALL_QUEUE)


class Display:
    """One display device's board logic, on the agent's event loop."""

    def __init__(self, device: DeviceApi, loop: asyncio.AbstractEventLoop) -> None:
        self.device = device
        self._loop = loop
        config = device.config
        settings = device.settings
        self.vm = BoardViewModel(
            BoardSettings.from_config(config.settings if config else {}),
            timezone=settings.queue.timezone if settings else "Asia/Shanghai",
            hall_name=settings.hall_name if settings else None,
        )
        self._lines: list[str] | None = None
        self.announced = 0
        for channel in HALL_CHANNELS:
            device.on_channel(channel, self.on_hall)
        device.on_config(self.on_config)
        speaker = device.ports.speaker
        if speaker is not None:
            speaker.on_report(self._report_soon)
        self._tune_voice()

    def on_config(self, config: DeviceConfig) -> None:
        self.vm.configure(BoardSettings.from_config(config.settings, fallback=self.vm.settings))
        self._tune_voice()
        self._update_serial_board()

    def _tune_voice(self) -> None:
        """The hub's voice settings (repeat, backlog, chime) over the device's own."""
        speaker = self.device.ports.speaker
        if speaker is None:
            return
        refused = speaker.tune(self.vm.settings.voice_overrides())
        if refused is not None:
            log.warning("%s: voice settings from the hub refused: %s",
                        self.device.device_id, refused)  # fmt: skip

    def on_hall(self, msg: Message) -> None:
        for call in self.vm.apply(msg):
            self._announce(call)
        self._update_serial_board()

    def _announce(self, call: BoardCall) -> None:
        speaker = self.device.ports.speaker
        if speaker is None or not call.voice or not self.vm.settings.announce:
            return
        self.announced += 1
        announcement = Announcement(
            ticket=call.ticket,
            window=call.window,
            window_name=call.window_name,
            recall=call.recall,
            called_at=call.called_at,
        )
        try:
            speaker.announce(announcement)
        except Exception as exc:  # the board keeps showing; the hub hears of the failure
            log.exception("%s: speaker refused %s", self.device.device_id, call.ticket)
            self.device.emit("announcement", _failed(announcement, str(exc)).as_event())

    def _report_soon(self, report: AnnouncementReport) -> None:
        # On the speaker's thread: the outbox and courier belong to the loop.
        with contextlib.suppress(RuntimeError):  # the loop closed: the device is stopping
            self._loop.call_soon_threadsafe(self._report, report)

    def _report(self, report: AnnouncementReport) -> None:
        if report.status == "failed":
            log.warning("%s: announcement of %s failed: %s",
                        self.device.device_id, report.ticket, report.reason)  # fmt: skip
        self.device.emit("announcement", report.as_event())

    def _update_serial_board(self) -> None:
        board = self.device.ports.serial_board
        if board is None:
            return
        lines = self.vm.serial_lines()
        if lines == self._lines:
            return  # legacy boards flicker when redrawn
        self._lines = lines
        try:
            board.show(lines)
        except Exception:  # a broken serial line must not stop the screen and the voice
            log.exception("%s: serial LED board failed", self.device.device_id)


def _failed(call: Announcement, reason: str) -> AnnouncementReport:
    now = utcnow()
    return AnnouncementReport(
        ticket=call.ticket,
        window=call.window,
        status="failed",
        reason=reason[:200] or "speaker error",
        called_at=call.called_at,
        queued_at=now,
        first_sample_at=None,
        finished_at=None,
    )


_displays: dict[str, Display] = {}


def board_of(device_id: str | None = None) -> Display:
    """The running display of this process (by id when there are several)."""
    if device_id is not None:
        return _displays[device_id]
    if len(_displays) != 1:
        raise LookupError(f"{len(_displays)} displays run in this process; name one")
    return next(iter(_displays.values()))


def setup(device: DeviceApi) -> None:
    _displays[device.device_id] = Display(device, asyncio.get_running_loop())


SPEC = KindSpec(
    DeviceKind.DISPLAY,
    ("screen", "serial_board", "speaker"),
    setup,
    "hall or window display: screen, serial LED board, speaker",
)
