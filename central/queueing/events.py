"""A tiny in-process bus for queue changes, so other parts of the hub can
react to them without editing the engine.

Two moments:

- ``in_transaction`` listeners run inside the verb's transaction, once per
  ticket transition, with ``(session, ticket, event)``: in order, after the
  verb's own work and before it commits. What they write commits or rolls
  back with the transition (the notification outbox). If one raises, the
  verb fails and nothing changes.
- ``after_commit`` listeners run after the transaction committed, with a
  `QueueChange` naming what changed (the hall-state publisher). They run on
  the thread that ran the verb (FastAPI's thread pool, or a worker thread of
  the MQTT bridge): a listener that talks to an asyncio loop must hop over with
  ``loop.call_soon_threadsafe``. Their errors are logged, never raised: the
  change has already happened.

One bus lives in `central.state.HubState` and is passed to every verb
(keyword ``bus=``); there is no global bus.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy.orm import Session

from central.queueing.models import Ticket, TicketEvent

log = logging.getLogger(__name__)

NOTIFIED: Final = "anxin.notified"
"""Key in ``Session.info`` an in-transaction listener sets when it queued a
message for the outbox; `QueueChange.notified` carries it past the commit."""

InTransaction = Callable[[Session, Ticket, TicketEvent], None]
AfterCommit = Callable[["QueueChange"], None]


@dataclass(frozen=True)
class QueueChange:
    """What one committed verb touched (ids only: listeners query what they need)."""

    day: dt.date
    ticket_ids: frozenset[int] = frozenset()
    window_ids: frozenset[int] = frozenset()
    service_ids: frozenset[int] = frozenset()
    notified: bool = False  # a notification was queued: wake the outbox worker
    calls: int = 0  # tickets called or recalled: the hall's call list changed

    @property
    def called(self) -> bool:
        return self.calls > 0

    @property
    def empty(self) -> bool:
        return not (self.ticket_ids or self.window_ids or self.service_ids)


@dataclass
class QueueBus:
    in_transaction: list[InTransaction] = field(default_factory=list)
    after_commit: list[AfterCommit] = field(default_factory=list)

    def on_transition(self, listener: InTransaction) -> InTransaction:
        """Register (usable as a decorator)."""
        self.in_transaction.append(listener)
        return listener

    def on_commit(self, listener: AfterCommit) -> AfterCommit:
        self.after_commit.append(listener)
        return listener

    def transitioned(self, session: Session, ticket: Ticket, event: TicketEvent) -> None:
        for listener in self.in_transaction:
            listener(session, ticket, event)

    def committed(self, change: QueueChange) -> None:
        if change.empty:
            return
        for listener in self.after_commit:
            try:
                listener(change)
            except Exception:
                log.exception("queue after-commit listener %r failed", listener)
