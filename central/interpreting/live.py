"""The live state of the interpreter service: who is connected, who waits.

Plain records owned by the `Distributor` on the event loop; nothing here
touches the database or a socket directly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from pydantic import BaseModel

InterpreterStatus = Literal["available", "busy", "break"]

STATUS_LABELS: Final[dict[str, str]] = {"available": "空闲", "busy": "忙碌", "break": "休息"}

# Outcome codes an interpreter records after a call, with their screen labels.
OUTCOMES: Final[dict[str, str]] = {
    "served": "已完成翻译",
    "transferred": "已转其他服务",
    "no_need": "市民无需翻译",
    "tech": "技术故障",
    "wrong": "误按呼叫",
    "other": "其他",
}


class Link(Protocol):
    """One side's socket as the ACD sees it: messages out, and a way to close."""

    def post(self, message: BaseModel) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


class Refused(Exception):
    """A message the ACD will not act on; the text goes back in `Error` (Chinese)."""


@dataclass(eq=False)
class Interpreter:
    user_id: int
    name: str
    status: InterpreterStatus = "break"
    link: Link | None = None
    # Loop time since when this interpreter has been free: the longest idle
    # is offered first (fair share of the work, as in a call centre).
    idle_since: float = 0.0
    offer: str | None = None
    call: str | None = None
    # The call that ended and still waits for its outcome (after-call work).
    wrap_up: str | None = None
    grace: asyncio.TimerHandle | None = None

    def is_free(self) -> bool:
        return (
            self.link is not None
            and self.status == "available"
            and self.offer is None
            and self.call is None
            and self.wrap_up is None
        )

    def is_staffed(self) -> bool:
        """Working the queue now (taking calls or in one); not on busy or break."""
        return self.link is not None and (
            self.status == "available" or self.call is not None or self.offer is not None
        )


@dataclass(eq=False)
class LiveRequest:
    id: str
    terminal: str
    location: str | None
    priority: int
    consent_recording: bool
    seq: int  # arrival order
    requested_at: dt.datetime
    link: Link
    seq_mono: float = 0.0  # loop time of the request
    state: Literal["waiting", "connected"] = "waiting"
    offered_to: int | None = None
    offer_deadline: float = 0.0
    offer_timer: asyncio.TimerHandle | None = None
    interpreter: int | None = None
    answered_mono: float = 0.0
    # Interpreters who declined or missed this request, and until when they
    # are skipped for it (loop time).
    skip_until: dict[int, float] = field(default_factory=dict)
    last_queued: tuple[int, int | None] | None = None

    def sort_key(self) -> tuple[int, int]:
        return (-self.priority, self.seq)
