"""What the kiosk UI asks of the kiosk device: a ticket for a service, online
through the hub or offline from the kiosk's reserved number block, and the
hall's live figures. The kiosk device kind implements `TicketSource`
(`edge.kinds.kiosk`); the Kivy UI (`kiosk_ui`) codes against these types only.
"""

from __future__ import annotations

import datetime as dt
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

    @property
    def online(self) -> bool:
        """True while the hub answers; False means tickets come from the offline block."""
        ...
