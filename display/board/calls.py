"""Which calls on ``hall/calls`` are news: to highlight and to announce.

The hub publishes the whole list of latest calls after every change, so a
board must tell a new call from one it has already shown. A call is new when
its ticket was not seen before, or it was seen with an older ``called_at``
(the window pressed 重呼).

A retained delivery (the broker hands the stored state to a board that has
just subscribed: a start, a reboot, a reconnection) is the hall as it is, not
news: the board shows it at once and announces none of it. Calls made while
a board was disconnected are therefore shown but not announced; announcing
ten minutes of missed calls on reconnection would call people who are
already at their window.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from broker.contract import BoardCall

SEEN_KEPT: Final = 500
"""Tickets remembered; far more than the 50 calls a message may carry."""


class CallTracker:
    """Remembers the latest ``called_at`` of each ticket shown."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, datetime] = OrderedDict()
        self.primed = False
        """True once any calls list arrived (the board has something to show)."""

    def offer(self, calls: Iterable[BoardCall], *, retained: bool) -> list[BoardCall]:
        """Record a calls list; the new calls in it, oldest first."""
        fresh: list[BoardCall] = []
        for call in calls:
            before = self._seen.get(call.ticket)
            if before is not None and call.called_at <= before:
                continue
            self._seen[call.ticket] = call.called_at
            self._seen.move_to_end(call.ticket)
            fresh.append(call)
        while len(self._seen) > SEEN_KEPT:
            self._seen.popitem(last=False)
        self.primed = True
        if retained:
            return []
        return sorted(fresh, key=lambda c: c.called_at)
