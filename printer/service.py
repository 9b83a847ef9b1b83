"""`TicketPrinter`: the kiosk's `TicketOutput` on a real (or simulated) ESC/POS printer.

One job is one session on the transport: read the status, refuse to print
when the printer cannot (paper out, cover open, offline), send the bytes,
then watch the status for `PrinterSettings.confirm_s` seconds. Only when the
link accepted every byte and the printer did not stop during that window is
the outcome ``ok``; paper running out mid-job, a dropped connection or a
printer that stops answering all give ``ok=False`` with the state and a
Chinese reason for staff. On a transport that cannot read (a file) the
outcome is ``ok`` with state UNKNOWN once the bytes are written.

Jobs and status reads hold one lock, so the bytes of a job and a status
query never interleave on the link (and a network printer sees one
connection at a time). `state_now` is the read that never waits for a job:
the heartbeat uses it, so a kiosk's agent loop is not held for the seconds a
ticket takes to print; while a job runs it answers the state the job itself
read last (before sending, or during its confirmation window).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from printer.api import ChecklistContent, PrinterState, PrintOutcome, TicketContent
from printer.settings import PrinterSettings
from printer.status import DETAIL, Status, read_status
from printer.transports import Transport, TransportError, from_settings, session

log = logging.getLogger(__name__)

POLL_S = 0.2


class TicketPrinter:
    """Satisfies `printer.api.TicketOutput`; safe to share between threads."""

    def __init__(
        self,
        settings: PrinterSettings,
        transport: Transport | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.transport = transport if transport is not None else from_settings(settings)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last: Status | None = None  # the newest status read, by anyone

    # --- TicketOutput -------------------------------------------------------

    def state(self) -> PrinterState:
        return self.status().state

    def print_ticket(self, content: TicketContent) -> PrintOutcome:
        from printer import render  # python-escpos and Pillow: the printer extra

        try:
            data = render.ticket_bytes(content, self.settings)
        except ValueError as exc:
            return PrintOutcome(False, PrinterState.UNKNOWN, f"号票内容有误，未打印：{exc}")
        return self.print_job(data, "号票")

    def print_checklist(self, content: ChecklistContent) -> PrintOutcome:
        from printer import render

        try:
            data = render.checklist_bytes(content, self.settings)
        except ValueError as exc:
            return PrintOutcome(False, PrinterState.UNKNOWN, f"清单内容有误，未打印：{exc}")
        return self.print_job(data, "清单")

    # --- the rest ------------------------------------------------------------

    def status(self) -> Status:
        """The printer's state now, with a Chinese detail (waits for a running job)."""
        with self._lock:
            return self._read()

    def state_now(self) -> PrinterState:
        """The state without waiting: read now when the printer is free, else
        the last state read (by the job in progress); UNKNOWN if none yet."""
        if not self._lock.acquire(blocking=False):
            last = self._last
            return last.state if last is not None else PrinterState.UNKNOWN
        try:
            return self._read().state
        finally:
            self._lock.release()

    @property
    def last_status(self) -> Status | None:
        """The newest status read (by a job or a status read), without asking."""
        return self._last

    def _read(self) -> Status:
        """One status session; the caller holds the lock."""
        try:
            with session(self.transport) as link:
                return self._status(link)
        except TransportError as exc:
            return self._seen(Status(PrinterState.OFFLINE, str(exc), {}))

    def print_job(self, data: bytes, what: str = "打印内容") -> PrintOutcome:
        """Send ready ESC/POS bytes (a reprint, a test page) with the same checks."""
        extra = {"transport": self.transport.describe(), "profile": self.settings.profile}
        with self._lock:
            sent = 0
            try:
                with session(self.transport) as link:
                    before = self._status(link)
                    if not before.state.can_print:
                        return self._failed(
                            what, before.state, f"{what}未打印：{before.detail}", 0, extra
                        )
                    link.write(data)
                    sent = len(data)
                    after = self._confirm(link, before)
            except TransportError as exc:
                state = PrinterState.OFFLINE
                self._seen(Status(state, str(exc), {}))
                verb = "可能未打印" if sent else "未打印"
                return self._failed(what, state, f"{what}{verb}：{exc}", sent, extra)
        if not after.state.can_print:
            detail = f"{what}可能未完整打印：{after.detail}"
            return self._failed(what, after.state, detail, sent, extra)
        detail = after.detail if after.state is PrinterState.PAPER_NEAR_END else ""
        return PrintOutcome(True, after.state, detail, bytes_sent=sent, extra=extra)

    def _seen(self, status: Status) -> Status:
        self._last = status  # one reference assignment: safe for readers without the lock
        return status

    def _status(self, link: Transport) -> Status:
        if not (link.can_read and self.settings.read_status):
            return self._seen(Status(PrinterState.UNKNOWN, "此连接方式无法读取打印机状态", {}))
        return self._seen(read_status(link, self.settings.status_timeout_s))

    def _confirm(self, link: Transport, before: Status) -> Status:
        """Watch the status after a job: a stop within `confirm_s` is a failed job."""
        if before.state is PrinterState.UNKNOWN and not (
            link.can_read and self.settings.read_status
        ):
            return before
        deadline = time.monotonic() + self.settings.confirm_s
        while True:
            now = self._seen(read_status(link, self.settings.status_timeout_s))
            left = deadline - time.monotonic()
            if not now.state.can_print or left <= 0:
                return now
            self._sleep(min(POLL_S, left))

    def _failed(
        self,
        what: str,
        state: PrinterState,
        detail: str,
        sent: int,
        extra: dict[str, str] | None = None,
    ) -> PrintOutcome:
        log.warning("%s print failed (%s): %s", what, state.value, detail)
        return PrintOutcome(False, state, detail, bytes_sent=sent, extra=extra or {})


__all__ = ["DETAIL", "TicketPrinter"]
