"""How new calls are held on screen long enough to read.

The choice, for five windows calling within one second: **every new call's
row is highlighted at once, and the calls take turns in one large featured
banner** (请 A012 号 到 5号窗口), each for ``hold_s`` seconds, in the order
they were called. A row stays highlighted until its own turn in the banner
is over, so the fifth call of a burst is highlighted from the moment it
arrives until its banner turn ends (``5 × hold_s`` after the burst): nobody
misses a call because four others came in the same second, and the banner
keeps the same order as the voice, which also calls one at a time.

A hall that calls faster than the banner can show (a backlog of more than
``max_waiting`` turns) drops the oldest turns not yet shown; their rows stay
in the calls list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from broker.contract import BoardCall

MAX_WAITING: Final = 12


@dataclass
class Turn:
    call: BoardCall
    start: float
    end: float


class HighlightQueue:
    """Banner turns on a monotonic clock (seconds); the caller passes ``now``."""

    def __init__(self, hold_s: float, *, max_waiting: int = MAX_WAITING) -> None:
        self.hold_s = hold_s
        self.max_waiting = max_waiting
        self._turns: list[Turn] = []

    def push(self, calls: list[BoardCall], now: float) -> None:
        """New calls, oldest first, join the end of the line."""
        self._expire(now)
        for call in calls:
            # A recall of a ticket still waiting for its turn takes that turn over.
            self._turns = [t for t in self._turns if t.start <= now or t.call.ticket != call.ticket]
            self._turns.append(Turn(call, math.inf, math.inf))
        waiting = [t for t in self._turns if t.start > now]
        for turn in waiting[: max(0, len(waiting) - self.max_waiting)]:
            self._turns.remove(turn)
        self._schedule(now)

    def _schedule(self, now: float) -> None:
        """Turns not yet on screen follow each other without a gap."""
        free_at = now
        for turn in self._turns:
            if turn.start <= now:
                free_at = max(free_at, turn.end)  # on screen: keeps its time
                continue
            turn.start, turn.end = free_at, free_at + self.hold_s
            free_at = turn.end

    def _expire(self, now: float) -> None:
        self._turns = [t for t in self._turns if t.end > now]

    def featured(self, now: float) -> BoardCall | None:
        """The call in the banner now."""
        self._expire(now)
        for turn in self._turns:
            if turn.start <= now:
                return turn.call
        return None

    def highlighted(self, now: float) -> set[str]:
        """Tickets whose rows are highlighted: featured now or waiting for their turn."""
        self._expire(now)
        return {t.call.ticket for t in self._turns}

    def busy_until(self) -> float | None:
        """When the last turn ends (None when nothing is highlighted)."""
        return self._turns[-1].end if self._turns else None

    def clear(self) -> None:
        self._turns.clear()
