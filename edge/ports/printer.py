"""The kiosk's ticket printer port.

`EscposPrinter` drives a real ESC/POS printer from `printer.settings.PrinterSettings`
(file, serial, raw TCP 9100 or USB); `SimPrinter` is an in-memory printer that
keeps every job and can run out of paper. Both expose ``tickets``, the
`printer.api.TicketOutput` the kiosk UI prints through (layout, Chinese text,
status checks: `printer.service.TicketPrinter`), plus the port basics the
device runtime uses: ``state`` for the heartbeat, ``write`` for ready bytes,
``close``. ``state`` never waits for a print job (`TicketPrinter.state_now`):
the heartbeat reads it on the agent's loop, which must not stop for the
seconds a ticket takes; during a job it is the state the job read last.
"""

from __future__ import annotations

from typing import Protocol

from printer.api import PrinterState, PrintOutcome, TicketOutput
from printer.service import TicketPrinter
from printer.settings import PrinterSettings
from printer.transports import SimTransport, Transport


class PrinterFault(Exception):
    """A write the printer did not take; ``outcome`` says why (Chinese detail)."""

    def __init__(self, outcome: PrintOutcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


class Printer(Protocol):
    @property
    def state(self) -> str:
        """A `PrinterState` value: "ok", "paper_near_end", "paper_out", "cover_open",
        "offline" or "unknown" (a transport that cannot read status). Never waits
        for a print job in progress: then it is the state that job read last."""
        ...

    @property
    def tickets(self) -> TicketOutput:
        """Tickets and checklists, with status checks (what the kiosk UI uses)."""
        ...

    def write(self, data: bytes) -> None:
        """Print ready ESC/POS bytes; raises `PrinterFault` if the printer did not take them."""
        ...

    def close(self) -> None: ...


def _write(tickets: TicketPrinter, data: bytes) -> None:
    outcome = tickets.print_job(data)
    if not outcome.ok:
        raise PrinterFault(outcome)


class EscposPrinter:
    """A real printer; each job or status read opens the link and closes it after."""

    def __init__(self, settings: PrinterSettings, transport: Transport | None = None) -> None:
        self.settings = settings
        self.tickets = TicketPrinter(settings, transport)

    @property
    def state(self) -> str:
        return self.tickets.state_now().value

    def write(self, data: bytes) -> None:
        _write(self.tickets, data)

    def close(self) -> None:
        pass  # nothing stays open between jobs


SIM_SETTINGS = PrinterSettings(transport="sim", confirm_s=0)


class SimPrinter:
    """Keeps every printed job in ``jobs``; set ``paper_out`` (or ``cover_open``,
    ``offline``) to test the alarm and the kiosk's failure path."""

    def __init__(self, settings: PrinterSettings | None = None) -> None:
        self.device = SimTransport()
        self.tickets = TicketPrinter(settings or SIM_SETTINGS, self.device)

    @property
    def jobs(self) -> list[bytes]:
        return self.device.jobs

    @property
    def paper_out(self) -> bool:
        return self.device.paper == "out"

    @paper_out.setter
    def paper_out(self, value: bool) -> None:
        self.device.paper = "out" if value else "ok"

    @property
    def cover_open(self) -> bool:
        return self.device.cover_open

    @cover_open.setter
    def cover_open(self, value: bool) -> None:
        self.device.cover_open = value

    @property
    def offline(self) -> bool:
        return not self.device.online

    @offline.setter
    def offline(self, value: bool) -> None:
        self.device.online = not value

    @property
    def state(self) -> str:
        return self.tickets.state_now().value

    def write(self, data: bytes) -> None:
        _write(self.tickets, data)

    def close(self) -> None:
        pass


__all__ = ["EscposPrinter", "Printer", "PrinterFault", "PrinterState", "SimPrinter"]
