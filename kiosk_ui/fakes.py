"""In-process stand-ins for the kiosk's device side, for the demo UI
(``python -m kiosk_ui --demo``) and the tests: a ticket source that issues
numbers per service prefix (and can refuse, or go offline), a printer that
can run out of paper, and a settable clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from edge.kinds.kiosk_api import IssuedTicket, TicketRefused
from kiosk_ui.viewmodels.offer import HallOffer
from printer.api import ChecklistContent, PrinterState, PrintOutcome, TicketContent


@dataclass
class FakeTicketSource:
    """Issues A001, A002, … per service; refuses what ``refuse`` names."""

    offer: HallOffer
    base_url: str = "http://localhost:8000"
    online_flag: bool = True
    refuse: dict[str, str] = field(default_factory=dict)  # service → reason
    per_person_limit: int = 3
    waiting: Mapping[str, int] = field(default_factory=dict)
    calls: list[dict[str, str | None]] = field(default_factory=list)
    # 预约码 → (service code, or the refusal as "!reason")
    appointments: dict[str, str] = field(default_factory=dict)
    _next: dict[str, int] = field(default_factory=dict)
    _per_person: dict[str, int] = field(default_factory=dict)

    @property
    def online(self) -> bool:
        return self.online_flag

    async def take(
        self,
        service: str,
        *,
        priority: str = "normal",
        priority_reason: str | None = None,
        citizen_id: str | None = None,
        matter: str | None = None,
    ) -> IssuedTicket:
        self.calls.append(
            {
                "service": service,
                "priority": priority,
                "reason": priority_reason,
                "citizen_id": citizen_id,
                "matter": matter,
            }
        )
        if service in self.refuse:
            raise TicketRefused(self.refuse[service])
        offered = self.offer.services.get(service)
        if offered is None:
            raise TicketRefused("本大厅不办理该业务")
        if citizen_id is not None:
            count = self._per_person.get(citizen_id, 0)
            if count >= self.per_person_limit:
                raise TicketRefused(f"每人每日最多取号 {self.per_person_limit} 次，今日已达上限")
            self._per_person[citizen_id] = count + 1
        seq = self._next.get(service, 0) + 1
        self._next[service] = seq
        number = f"{offered.prefix or 'Z'}{seq:03d}"
        ahead = None if not self.online_flag else self.waiting.get(service, seq - 1)
        return IssuedTicket(
            number=number,
            service=service,
            service_name=offered.name,
            issued_at=dt.datetime.now(dt.UTC),
            citizen_url=f"{self.base_url}/t/{number.lower()}-{seq:04x}",
            ahead=ahead,
            minutes=None if ahead is None else ahead * 4,
            offline=not self.online_flag,
            priority=priority,
        )

    async def check_in(self, code: str) -> IssuedTicket:
        self.calls.append({"checkin": code})
        if not self.online_flag:
            raise TicketRefused("网络中断，暂时无法预约签到，请到服务台办理或稍后再试")
        booked = self.appointments.get(code)
        if booked is None:
            raise TicketRefused("没有找到该预约，请核对预约码")
        if booked.startswith("!"):
            raise TicketRefused(booked[1:])
        ticket = await self.take(booked, priority="appointment")
        self.appointments[code] = f"!该预约已签到，号码 {ticket.number}，请留意叫号"
        return ticket


@dataclass
class FakePrinter:
    """A printer that keeps what it printed; set ``printer_state`` to PAPER_OUT …"""

    printer_state: PrinterState = PrinterState.OK
    fail_while_printing: bool = False  # state says OK, the print itself fails
    tickets: list[TicketContent] = field(default_factory=list)
    checklists: list[ChecklistContent] = field(default_factory=list)

    def state(self) -> PrinterState:
        return self.printer_state

    def print_ticket(self, content: TicketContent) -> PrintOutcome:
        if self.fail_while_printing or not self.printer_state.can_print:
            return PrintOutcome(False, PrinterState.PAPER_OUT, "打印机缺纸")
        self.tickets.append(content)
        return PrintOutcome(True, self.printer_state, bytes_sent=512)

    def print_checklist(self, content: ChecklistContent) -> PrintOutcome:
        if self.fail_while_printing or not self.printer_state.can_print:
            return PrintOutcome(False, PrinterState.PAPER_OUT, "打印机缺纸")
        self.checklists.append(content)
        return PrintOutcome(True, self.printer_state, bytes_sent=512)


@dataclass
class FakeClock:
    """Wall time and monotonic time that only move when told to."""

    wall: dt.datetime
    mono: float = 1000.0

    def now(self) -> dt.datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += dt.timedelta(seconds=seconds)
