"""The nightly close of an operating day (see `clock` for what a day is).

Ticket numbers restart each day on their own, because `DayCounter` is keyed
by (service, day); the close ends what is left of the day.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.queueing.events import QueueBus
from central.queueing.models import FINAL_STATES, Ticket, WindowState, WindowStatus
from central.queueing.states import Verb
from central.queueing.txn import Txn, run


def close_day(
    session: Session,
    *,
    day: dt.date,
    reason: str,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> int:
    """End every unfinished ticket of `day` as expired (with `reason` in its
    timeline) and sign every window out. Returns how many tickets ended.

    One transaction: a close that fails half-way leaves the day as it was.
    Safe to run twice (the second run finds nothing to end).
    """

    def work(tx: Txn) -> int:
        tickets = tx.session.scalars(
            select(Ticket)
            .where(Ticket.day == day, Ticket.state.not_in([s.value for s in FINAL_STATES]))
            .order_by(Ticket.id)
            .with_for_update()
        ).all()
        for ticket in tickets:
            window_id = ticket.window_id
            tx.transition(
                ticket, Verb.EXPIRE, window_id=window_id, reason=reason, detail={"day": str(day)},
                update={"ended_at": tx.now},
            )  # fmt: skip
        windows = tx.session.scalars(select(WindowState.window_id)).all()
        tx.session.execute(
            update(WindowState).values(
                status=WindowStatus.CLOSED.value,
                clerk_id=None,
                pause_reason=None,
                current_ticket_id=None,
                updated_at=tx.now,
            )
        )
        tx.windows.update(windows)
        return len(tickets)

    return run(session, work, bus=bus, settings=settings.queue, now=now, day=day)
