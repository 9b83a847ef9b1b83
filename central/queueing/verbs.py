"""Window verbs on the plain path of a ticket: call next, call a specific
ticket, recall, start, finish, transfer.

Each is one transaction (`windows.window_verb`) that locks the window's
state row, then the ticket, moves the ticket through the state machine
(`Txn.transition`, which appends the timeline event), updates the window's
current ticket, and writes a fairness entry for every departure from queue
order: an out-of-order call and a transfer here; park, no-show and a raised
priority in `tickets`; 绿色通道 and VIP tickets in `issuing`. Those need a
reason code from `reasons`; a missing or unknown code is refused.

A clerk may call only tickets of services they are certified for
(`ClerkService`); call-next looks only at the window's services the clerk is
certified for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.queueing import locking, reasons
from central.queueing.calling import eligible_services, pick_next
from central.queueing.errors import Invalid, NotFound, Refused
from central.queueing.events import QueueBus
from central.queueing.fairness import FairnessKind
from central.queueing.issuing import continue_in
from central.queueing.models import (
    ClerkService,
    Service,
    Ticket,
    TicketState,
    Window,
    WindowState,
)
from central.queueing.states import Verb, advance
from central.queueing.txn import Actor, Txn, service_by_code
from central.queueing.windows import (
    Outcome,
    lock_current,
    release,
    require_open,
    touch,
    window_verb,
)


def _call(
    tx: Txn, ticket: Ticket, state: WindowState, clerk_id: int, verb: Verb, **kw: object
) -> Outcome:
    """Give `ticket` to the window: the verb's last step, so its writes wait
    for the verb's end and go out with its timeline (`Txn.write`'s `hold`)."""
    called = {"window_id": state.window_id, "clerk_id": clerk_id, "called_at": tx.now,
              "last_called_at": tx.now}  # fmt: skip
    event = tx.transition(
        ticket,
        verb,
        window_id=state.window_id,
        clerk_id=clerk_id,
        update=called,
        hold=True,
        **kw,  # type: ignore[arg-type]
    )
    touch(tx, state, hold=True, current_ticket_id=ticket.id)
    return Outcome(state, ticket, event, event.detail.get("why"))


def _finish(
    tx: Txn,
    ticket: Ticket,
    state: WindowState,
    outcome: str,
    trail: dict[str, Any],
    *,
    release_window: bool = True,
) -> Outcome:
    """Finish `ticket`; the window is left holding nothing unless the caller
    (call-next) writes its next ticket there itself.

    Its writes wait for the verb's end (`Txn.write`'s `hold`) unless the
    ticket goes back to another queue here: what call-next reads after it
    does not depend on them (the ticket was not waiting)."""
    hold = ticket.return_service_id is None
    event = tx.transition(
        ticket, Verb.FINISH, window_id=state.window_id, clerk_id=state.clerk_id, reason=outcome,
        detail=trail or None, update={"ended_at": tx.now, "outcome": outcome}, hold=hold,
    )  # fmt: skip
    if release_window:
        release(tx, state, hold=hold)
    follow_up = None
    if ticket.return_service_id is not None:
        back = tx.session.get(Service, ticket.return_service_id)
        if back is not None:
            follow_up = continue_in(tx, ticket, back, return_service_id=None, why="return")
    return Outcome(state, ticket, event, follow_up=follow_up)


def call_next(
    session: Session,
    *,
    window: int,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    finish_current: str | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Call the ticket the rule picks (`calling`); ``ticket`` is None when no
    one is waiting.

    With `finish_current` (an outcome code) the window's ticket is finished
    first, in the same transaction (办结并叫下一位). A ticket still "called"
    is then taken to have been served from its last call: a one-button caller
    never presses "start" (the timeline shows an implied start).
    """
    code = (
        None
        if finish_current is None
        else reasons.check(finish_current, reasons.OUTCOMES, what="办结")
    )

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        clerk_id = require_open(win, state)
        if state.current_ticket_id is not None:
            current = lock_current(tx, win, state)
            if code is None:
                raise Refused(f"请先处理当前号码 {current.number}（开始办理、办结或过号）")
            if current.state == TicketState.CALLED.value:
                tx.transition(
                    current,
                    Verb.START,
                    window_id=win.id,
                    clerk_id=clerk_id,
                    detail={"implied": True, **actor.trail()},
                    update={"serving_at": current.last_called_at or tx.now},
                    hold=True,  # written with the finish, just below
                )
            advance(Verb.FINISH, current.state, number=current.number)
            # The window's row is written once, below: the next ticket or none.
            _finish(tx, current, state, code, actor.trail(), release_window=False)
        # The finished ticket (if any) was never waiting, so the pick does not
        # depend on it: no flush before these reads.
        with tx.session.no_autoflush:
            services = eligible_services(tx.session, window_id=win.id, clerk_id=clerk_id)
            if not services:
                raise Refused(f"您未获得 {win.number} 号窗口任何业务的办理资格")
            pick = pick_next(
                tx.session,
                services=services,
                day=tx.day,
                now=tx.now,
                settings=tx.settings,
                lock=True,
            )
        if pick is None:
            if state.current_ticket_id is not None:
                release(tx, state)
            return Outcome(state)
        return _call(
            tx, pick.ticket, state, clerk_id, Verb.CALL, detail={"why": pick.why, **actor.trail()}
        )

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def call_specific(
    session: Session,
    *,
    window: int,
    ticket_id: int,
    reason: str | None,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """Call one ticket by id. When it is not the one the rule would pick it is
    an out-of-order call (插队): it needs a reason code and is logged."""

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        clerk_id = require_open(win, state)
        if state.current_ticket_id is not None:
            current = lock_current(tx, win, state)
            raise Refused(f"请先处理当前号码 {current.number}")
        ticket = locking.lock_ticket(tx.session, ticket_id)
        if ticket is None:
            raise NotFound(f"没有编号为 {ticket_id} 的号票")
        advance(Verb.CALL_SPECIFIC, ticket.state, number=ticket.number)
        certified = tx.session.get(ClerkService, (clerk_id, ticket.service_id))
        if certified is None:
            raise Refused(f"您未获得号码 {ticket.number} 所属业务的办理资格")
        services = eligible_services(tx.session, window_id=win.id, clerk_id=clerk_id)
        pick = pick_next(
            tx.session, services=services, day=tx.day, now=tx.now, settings=tx.settings, lock=False
        )
        in_order = pick is not None and pick.ticket.id == ticket.id
        detail = {"in_order": in_order, **actor.trail()}
        code = None
        if not in_order:
            code = reasons.check(reason, reasons.OUT_OF_ORDER, what="指定叫号（插队）")
            detail["rule_would_pick"] = pick.ticket.number if pick else None
            tx.fairness(
                FairnessKind.OUT_OF_ORDER,
                code,
                ticket,
                window_id=win.id,
                clerk_id=clerk_id,
                detail=detail,
            )
        return _call(tx, ticket, state, clerk_id, Verb.CALL_SPECIFIC, reason=code, detail=detail)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def recall(
    session: Session,
    *,
    window: int,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """Call the window's ticket again (重呼), at most ``max_recalls`` times and
    not sooner than ``recall_delay_s`` after the last call."""

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        ticket = lock_current(tx, win, state)
        advance(Verb.RECALL, ticket.state, number=ticket.number)
        limit = tx.settings.max_recalls
        if ticket.recalls >= limit:
            raise Refused(f"号码 {ticket.number} 已重呼 {limit} 次，请标记过号")
        since = (tx.now - (ticket.last_called_at or tx.now)).total_seconds()
        if since < tx.settings.recall_delay_s:
            wait = tx.settings.recall_delay_s - since
            raise Refused(
                f"距上次呼叫不足 {tx.settings.recall_delay_s:g} 秒，请 {wait:.0f} 秒后重呼"
            )
        event = tx.transition(
            ticket,
            Verb.RECALL,
            window_id=win.id,
            clerk_id=state.clerk_id,
            detail={"recalls": ticket.recalls + 1, **actor.trail()},
            update={"recalls": ticket.recalls + 1, "last_called_at": tx.now},
            hold=True,
        )
        touch(tx, state, hold=True)
        return Outcome(state, ticket, event)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def start(
    session: Session,
    *,
    window: int,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        ticket = lock_current(tx, win, state)
        event = tx.transition(
            ticket, Verb.START, window_id=win.id, clerk_id=state.clerk_id, detail=actor.trail(),
            update={"serving_at": tx.now}, hold=True,
        )  # fmt: skip
        touch(tx, state, hold=True)
        return Outcome(state, ticket, event)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def finish(
    session: Session,
    *,
    window: int,
    outcome: str,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """Finish serving with an outcome code; a ticket transferred with
    auto-return goes back to the first service's queue as a new ticket."""
    code = reasons.check(outcome, reasons.OUTCOMES, what="办结")

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        ticket = lock_current(tx, win, state)
        advance(Verb.FINISH, ticket.state, number=ticket.number)
        return _finish(tx, ticket, state, code, actor.trail())

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def transfer(
    session: Session,
    *,
    window: int,
    to_service: str,
    reason: str | None,
    return_after: bool,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """End the ticket being served as transferred and queue a new ticket in
    `to_service` keeping its place and priority (see `issuing.continue_in`)."""
    code = reasons.check(reason, reasons.TRANSFER, what="转办")

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        ticket = lock_current(tx, win, state)
        advance(Verb.TRANSFER, ticket.state, number=ticket.number)
        target = service_by_code(tx.session, to_service)
        if target.id == ticket.service_id:
            raise Invalid("不能转办到同一业务")
        event = tx.transition(
            ticket,
            Verb.TRANSFER,
            window_id=win.id,
            clerk_id=state.clerk_id,
            reason=code,
            detail={"to": target.code, "return": return_after, **actor.trail()},
            update={"ended_at": tx.now},
        )
        release(tx, state)
        back = ticket.service_id if return_after else None
        new = continue_in(tx, ticket, target, return_service_id=back, why="transfer")
        tx.fairness(
            FairnessKind.TRANSFER,
            code,
            ticket,
            window_id=win.id,
            clerk_id=state.clerk_id,
            detail={"to": target.code, "new_number": new.number, "return": return_after},
        )
        return Outcome(state, ticket, event, follow_up=new)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)
