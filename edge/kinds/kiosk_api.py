"""What the kiosk UI asks of the kiosk device: a ticket for a service, online
through the hub or offline from the kiosk's reserved number block, an
appointment check-in (online only), and the hall's live figures. The kiosk
device kind implements `TicketSource` (`edge.kinds.kiosk`); the Kivy UI
(`kiosk_ui`) codes against these types only.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol


class TicketRefused(Exception):
    """The hall refused the ticket; ``reason`` is Chinese, shown to the citizen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IssuedTicket:
    number: str
    service: str  # service code
    service_name: str
    issued_at: dt.datetime  # aware
    citizen_url: str  # absolute URL of the citizen page (QR code)
    ahead: int | None = None
    minutes: int | None = None
    offline: bool = False  # from the offline block; the hub learns of it later
    priority: str = "normal"


class TicketSource(Protocol):
    async def take(
        self,
        service: str,
        *,
        priority: str = "normal",
        priority_reason: str | None = None,
        citizen_id: str | None = None,
        matter: str | None = None,
    ) -> IssuedTicket:
        """Issue a ticket; raises `TicketRefused` with the reason."""
        ...

    async def check_in(self, code: str) -> IssuedTicket:
        """Check in the appointment with this 预约码 (online only); raises
        `TicketRefused` with the reason (too early, cancelled, no network …)."""
        ...

    @property
    def online(self) -> bool:
        """True while the hub answers; False means tickets come from the offline block."""
        ...


_CODE = re.compile(r"(?:^|/)([2-9A-HJ-NP-Z]{10})/?$")


def appointment_code(scanned: str) -> str | None:
    """The 预约码 in what a scanner read: the code itself, or the booking page's
    URL ending in it (the QR code holds the URL); None for anything else."""
    text = scanned.strip()
    found = _CODE.search(text) or _CODE.search(text.upper())
    return found.group(1) if found else None
