"""Window verbs about the window itself: a clerk signs in and out, pauses
and resumes. A window calls only when it is open (a clerk signed in, not
paused).

Shared by the ticket verbs (`verbs`): `Outcome`, the open-window check and
`window_verb`, which locks the window's state row for the verb.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.auth.models import User
from central.queueing import locking, reasons
from central.queueing.errors import NotFound, NotYourWindow, Refused
from central.queueing.events import QueueBus
from central.queueing.models import Ticket, TicketEvent, Window, WindowState, WindowStatus
from central.queueing.txn import Actor, Txn, open_window, run


@dataclass(frozen=True)
class Outcome:
    """What a window verb did: the window after it, the ticket it acted on,
    the timeline event, why the call-next rule picked it, and a ticket the
    verb created (a transfer's or an auto-return's)."""

    window: WindowState
    ticket: Ticket | None = None
    event: TicketEvent | None = None
    why: dict[str, Any] | None = None
    follow_up: Ticket | None = None


WindowWork = Callable[[Txn, Window, WindowState], Outcome]


def window_verb(
    session: Session,
    number: int,
    work: WindowWork,
    *,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None,
    check_actor: bool = True,
) -> Outcome:
    def run_work(tx: Txn) -> Outcome:
        window, state = open_window(tx, number, actor, check_actor=check_actor)
        return work(tx, window, state)

    return run(session, run_work, bus=bus, settings=settings.queue, now=now)


def require_open(window: Window, state: WindowState) -> int:
    """The signed-in clerk's id, or a refusal saying why the window cannot call."""
    if state.status == WindowStatus.CLOSED.value or state.clerk_id is None:
        raise Refused(f"{window.number} 号窗口未登录，请先登录")
    if state.status == WindowStatus.PAUSED.value:
        label = reasons.PAUSE.get(state.pause_reason or "", state.pause_reason or "")
        raise Refused(f"{window.number} 号窗口已暂停（{label}），请先恢复服务")
    return state.clerk_id


def touch(tx: Txn, state: WindowState, *, hold: bool = False, **changes: Any) -> None:
    """Write the window's `changes` (if any) and when it last changed
    (`hold`: at the verb's end, see `Txn.write`)."""
    tx.write(state, hold=hold, updated_at=tx.now, **changes)
    tx.windows.add(state.window_id)


def login(
    session: Session,
    *,
    window: int,
    clerk_id: int,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """Sign `clerk_id` in at the window. A clerk signs themselves in; an admin
    or manager may sign anyone in. One clerk per window and one window per clerk."""
    if not actor.any_window and actor.user_id != clerk_id:
        raise NotYourWindow("只能为本人登录窗口")

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        clerk = tx.session.get(User, clerk_id)
        if clerk is None or not clerk.active:
            raise NotFound(f"没有编号为 {clerk_id} 的工作人员")
        if state.clerk_id is not None and state.clerk_id != clerk_id:
            raise Refused(f"{win.number} 号窗口已有其他工作人员登录，请对方先退出")
        elsewhere = tx.session.scalar(
            select(Window.number)
            .join(WindowState, WindowState.window_id == Window.id)
            .where(WindowState.clerk_id == clerk_id, Window.id != win.id)
        )
        if elsewhere is not None:
            raise Refused(f"您已在 {elsewhere} 号窗口登录，请先退出该窗口")
        if state.clerk_id != clerk_id:
            touch(tx, state, status=WindowStatus.OPEN.value, pause_reason=None, clerk_id=clerk_id)
        else:
            touch(tx, state)
        return Outcome(state)

    return window_verb(
        session, window, work, actor=actor, bus=bus, settings=settings, now=now, check_actor=False
    )


def logout(
    session: Session,
    *,
    window: int,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """Sign the clerk out; refused while the window holds a ticket."""

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        if state.current_ticket_id is not None:
            current = tx.session.get(Ticket, state.current_ticket_id)
            number = current.number if current else ""
            raise Refused(f"请先处理当前号码 {number}（办结、过号或暂挂）再退出")
        touch(tx, state, status=WindowStatus.CLOSED.value, clerk_id=None, pause_reason=None)
        return Outcome(state)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def pause(
    session: Session,
    *,
    window: int,
    reason: str | None,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """Stop calling (a ticket being served may be finished meanwhile)."""
    code = reasons.check(reason, reasons.PAUSE, what="暂停服务")

    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        if state.status == WindowStatus.CLOSED.value:
            raise Refused(f"{win.number} 号窗口未登录")
        touch(tx, state, status=WindowStatus.PAUSED.value, pause_reason=code)
        return Outcome(state)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def resume(
    session: Session,
    *,
    window: int,
    actor: Actor,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    def work(tx: Txn, win: Window, state: WindowState) -> Outcome:
        if state.status != WindowStatus.PAUSED.value:
            raise Refused(f"{win.number} 号窗口没有暂停")
        touch(tx, state, status=WindowStatus.OPEN.value, pause_reason=None)
        return Outcome(state)

    return window_verb(session, window, work, actor=actor, bus=bus, settings=settings, now=now)


def lock_current(tx: Txn, win: Window, state: WindowState) -> Ticket:
    if state.current_ticket_id is None:
        raise Refused(f"{win.number} 号窗口当前没有号码")
    ticket = tx.current
    if ticket is None or ticket.id != state.current_ticket_id:
        ticket = locking.lock_ticket(tx.session, state.current_ticket_id)
    assert ticket is not None
    return ticket


def release(tx: Txn, state: WindowState, *, hold: bool = False) -> None:
    touch(tx, state, hold=hold, current_ticket_id=None)
