"""Verbs that take a ticket off the plain path: park (暂挂) and unpark,
no-show (过号), cancel, and a raised priority. Each departure from queue
order needs a reason code and is written to the fairness log (cancel is the
citizen's own choice and is not).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.queueing import locking, reasons
from central.queueing.errors import Invalid, NotFound, ReasonRequired, Refused
from central.queueing.events import QueueBus
from central.queueing.fairness import FairnessKind
from central.queueing.models import Priority, Ticket, TicketState, Window, WindowState
from central.queueing.states import Verb, advance
from central.queueing.txn import Actor, Txn, run
from central.queueing.windows import Outcome, lock_current, release, window_verb


def park(
    session: Session,
    *,
    window: int,
    reason: str | None,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    ticket_id: int | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Put a ticket on hold (暂挂): the window's called ticket, or a waiting
    ticket by id. `unpark` puts it back in its original place."""
    code = reasons.check(reason, reasons.PARK, what="暂挂")

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        if ticket_id is None or ticket_id == state.current_ticket_id:
            ticket = lock_current(tx, win, state)
        else:
            found = locking.lock_ticket(tx.session, ticket_id)
            if found is None:
                raise NotFound(f"没有编号为 {ticket_id} 的号票")
            ticket = found
            if ticket.state == TicketState.CALLED.value:
                # Called elsewhere: only that window may park it.
                raise Refused(f"号码 {ticket.number} 已在其他窗口被叫，不能在本窗口暂挂")
        before = ticket.state
        event = tx.transition(
            ticket,
            Verb.PARK,
            window_id=win.id,
            clerk_id=state.clerk_id,
            reason=code,
            detail=actor.trail(),
            update={"parked_from": before},
        )
        if state.current_ticket_id == ticket.id:
            release(tx, state)
        tx.fairness(
            FairnessKind.PARK,
            code,
            ticket,
            window_id=win.id,
            clerk_id=state.clerk_id,
            detail={"from": before},
        )
        return Outcome(state, ticket, event)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def unpark(
    session: Session,
    *,
    window: int,
    ticket_id: int,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """A parked ticket waits again, in its original place (``queued_at`` kept)."""

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        ticket = locking.lock_ticket(tx.session, ticket_id)
        if ticket is None:
            raise NotFound(f"没有编号为 {ticket_id} 的号票")
        event = tx.transition(
            ticket,
            Verb.UNPARK,
            window_id=win.id,
            clerk_id=state.clerk_id,
            detail={"parked_from": ticket.parked_from, **actor.trail()},
            update={"parked_from": None},
        )
        return Outcome(state, ticket, event)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def no_show(
    session: Session,
    *,
    window: int,
    reason: str | None,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """The called citizen did not come (过号): allowed once ``max_recalls``
    recalls are used up, or earlier with a reason code."""

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        ticket = lock_current(tx, win, state)
        advance(Verb.NO_SHOW, ticket.state, number=ticket.number)
        if reason is None and ticket.recalls >= tx.settings.max_recalls:
            code = "max_recalls"
        elif reason is None:
            raise ReasonRequired(
                f"号码 {ticket.number} 重呼未满 {tx.settings.max_recalls} 次，提前过号需要原因代码"
            )
        else:
            code = reasons.check(reason, reasons.NO_SHOW, what="过号")
        event = tx.transition(
            ticket,
            Verb.NO_SHOW,
            window_id=win.id,
            clerk_id=state.clerk_id,
            reason=code,
            detail={"recalls": ticket.recalls, **actor.trail()},
            update={"ended_at": tx.now},
        )
        release(tx, state)
        tx.fairness(
            FairnessKind.NO_SHOW,
            code,
            ticket,
            window_id=win.id,
            clerk_id=state.clerk_id,
            detail={"recalls": ticket.recalls},
        )
        return Outcome(state, ticket, event)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def cancel(
    session: Session,
    *,
    ticket_id: int,
    reason: str | None,
    bus: QueueBus,
    settings: Settings,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Cancel a waiting, parked or called ticket (the citizen leaves)."""
    code = reasons.check(reason, reasons.CANCEL, what="取消")

    def work(tx: Txn) -> Ticket:
        peek = tx.session.get(Ticket, ticket_id)
        if peek is None:
            raise NotFound(f"没有编号为 {ticket_id} 的号票")
        # Window row before ticket row, the order every window verb uses.
        state = (
            locking.lock_window_state(tx.session, peek.window_id, tx.now)
            if peek.window_id is not None
            else None
        )
        ticket = locking.lock_ticket(tx.session, ticket_id)
        assert ticket is not None
        if state is not None and ticket.window_id != state.window_id:
            raise Refused("号码状态刚刚发生变化，请重试")
        tx.transition(
            ticket, Verb.CANCEL, reason=code, detail=actor.trail() if actor else {},
            update={"ended_at": tx.now},
        )  # fmt: skip
        if state is not None and state.current_ticket_id == ticket.id:
            release(tx, state)
        return ticket

    return run(session, work, bus=bus, settings=settings.queue, now=now)


_RANK = {
    p: i
    for i, p in enumerate((Priority.GREEN, Priority.VIP, Priority.APPOINTMENT, Priority.NORMAL))
}


def raise_priority(
    session: Session,
    *,
    ticket_id: int,
    priority: Priority,
    reason: str | None,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Ticket:
    """Move a waiting or parked ticket to a higher priority class (a logged bump)."""
    code = reasons.check(reason, reasons.PRIORITY, what="提高优先级")

    def work(tx: Txn) -> Ticket:
        ticket = locking.lock_ticket(tx.session, ticket_id)
        if ticket is None:
            raise NotFound(f"没有编号为 {ticket_id} 的号票")
        if ticket.state not in (TicketState.WAITING.value, TicketState.PARKED.value):
            raise Refused(f"号码 {ticket.number} 不在等候中，不能调整优先级")
        old = Priority(ticket.priority)
        if _RANK[priority] >= _RANK[old]:
            raise Invalid("只能提高优先级")
        tx.write(ticket, priority=priority.value, priority_reason=code)
        tx.note(
            ticket,
            "priority",
            reason=code,
            detail={"from": old.value, "to": priority.value, **actor.trail()},
        )
        kind = FairnessKind.GREEN_CHANNEL if priority == Priority.GREEN else FairnessKind.PRIORITY
        tx.fairness(
            kind,
            code,
            ticket,
            clerk_id=actor.user_id,
            detail={"from": old.value, "to": priority.value},
        )
        return ticket

    return run(session, work, bus=bus, settings=settings.queue, now=now)
