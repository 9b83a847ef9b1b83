"""Carries outbox events to the hub: in order, only when it listens, again until acked.

The courier publishes only while the device is connected *and* the retained
hub status says online; events sent to nobody would only be resent anyway.
Each event not acknowledged within `resend_s` is published again, and every
(re)connection or hub restart resends all pending events in order. At most
`window` unacknowledged events are in flight, which bounds what a device that
was offline for a day pushes at the broker at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from edge.outbox import Outbox

log = logging.getLogger(__name__)


class Courier:
    def __init__(
        self,
        *,
        outbox: Outbox,
        publish: Callable[[str, bytes], bool],
        topic_for: Callable[[str], str],
        resend_s: float,
        window: int = 200,
    ) -> None:
        self._outbox = outbox
        self._publish = publish
        self._topic_for = topic_for
        self._resend_s = resend_s
        self._window = window
        self._ready = False
        self._sent_at: dict[int, float] = {}
        self._wake = asyncio.Event()
        self.sent = 0
        """Publications so far, resends included (for tests and the benchmark)."""

    @property
    def ready(self) -> bool:
        return self._ready

    def set_ready(self, ready: bool) -> None:
        """Connected and hub online (True) or not. Becoming ready resends everything."""
        if ready and not self._ready:
            self._sent_at.clear()
            self._wake.set()
        self._ready = ready

    def wake(self) -> None:
        """Something changed (a new event, an ack): look at the outbox now."""
        self._wake.set()

    def acked(self, seq: int) -> None:
        self._sent_at.pop(seq, None)
        self._wake.set()  # the window has room again

    async def run(self) -> None:
        # Waking at half the resend interval keeps the resend delay within 1.5x of it.
        tick = self._resend_s / 2
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
            # cancellation that coincides with the wake-up, and stop() would hang.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(tick):
                    await self._wake.wait()
            self._wake.clear()
            if self._ready:
                self.flush()

    def flush(self) -> int:
        """Publish pending events that are new or due for a resend; returns how many."""
        now = time.monotonic()
        count = 0
        for p in self._outbox.pending(self._window):
            at = self._sent_at.get(p.seq)
            if at is not None and now - at < self._resend_s:
                continue
            if not self._publish(self._topic_for(p.name), p.body):
                break  # disconnected: the next connection resends from here
            self._sent_at[p.seq] = now
            count += 1
        self.sent += count
        if count:
            log.debug("courier published %d event(s)", count)
        return count
