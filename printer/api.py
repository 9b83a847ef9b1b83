"""What the kiosk asks of the printer package: print this ticket (or this
checklist), and tell me how it went. The kiosk UI codes against these; the
printer package implements them (`printer.service`).

A ticket counts as printed only when the printer accepted the bytes
(`PrintOutcome.ok`); anything else is a failure the kiosk must show and
report, never a silent loss.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class PrinterState(StrEnum):
    OK = "ok"
    PAPER_NEAR_END = "paper_near_end"  # still prints
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNKNOWN = "unknown"  # a transport that cannot read status (file, some USB)

    @property
    def can_print(self) -> bool:
        return self in (PrinterState.OK, PrinterState.PAPER_NEAR_END, PrinterState.UNKNOWN)


@dataclass(frozen=True)
class TicketContent:
    """Everything printed on a queue ticket (all text Simplified Chinese)."""

    hall_name: str
    number: str  # A012
    service: str  # 业务名称
    issued_at: dt.datetime  # aware; printed in the hall's local time
    qr_url: str  # the citizen page (办事一码通)
    ahead: int | None = None  # 前面还有 N 人
    minutes: int | None = None  # 预计等候约 N 分钟
    notice: str = ""  # a short hall notice at the bottom
    offline: bool = False  # issued from the kiosk's offline block: says so
    priority_label: str = ""  # e.g. 绿色通道 / 预约
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class ChecklistContent:
    """A material checklist from the guide (打印清单), with a QR code to take it along."""

    hall_name: str
    title: str  # the matter's name
    lines: tuple[str, ...]  # one material or note per line
    qr_url: str
    printed_at: dt.datetime
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class PrintOutcome:
    ok: bool
    state: PrinterState
    detail: str = ""  # Chinese, for staff (e.g. 打印机缺纸)
    bytes_sent: int = 0
    extra: dict[str, str] = field(default_factory=dict)


class TicketOutput(Protocol):
    """A printer as the kiosk uses it."""

    def state(self) -> PrinterState:
        """Read the printer's state now (real-time status where the transport can)."""
        ...

    def print_ticket(self, content: TicketContent) -> PrintOutcome: ...

    def print_checklist(self, content: ChecklistContent) -> PrintOutcome: ...
