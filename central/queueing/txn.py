"""The core every queue verb is built on: one transaction per verb, one gate
for state changes, and the look-ups the API and the MQTT callers share.

A verb is a function ``work(tx) -> result`` run by `run`: it opens the
verb's own write transaction (`locking.run_write`: ``BEGIN IMMEDIATE`` on
SQLite, row locks on PostgreSQL, bounded retries), hands it a `Txn`, commits,
and then tells the bus's after-commit listeners what changed. Every ticket
state change goes through `Txn.transition`, which asks the state machine
(`states.advance`) and appends the `TicketEvent` to the timeline; the
in-transaction listeners hear every transition, in order, when the verb's
work is done and before it commits (`Txn.settle`), once the verb's timeline
entries are written in one statement (`Txn.write_events`).

A verb changes a loaded ticket or window state through `Txn.write` (and
`transition`'s ``update``): one Core ``UPDATE`` of the columns it names,
sent at once or, held, with the verb's last writes (`Txn.write`'s
``hold``), the object showing the new values without becoming dirty.
The ORM's unit of work, finding and writing the same changes at flush,
cost about a quarter of a call-next. Attributes set the plain way are
still flushed by the ORM; both may touch one object.

Where a verb runs: on the hub worker's event loop, called straight from an
``async def`` route or MQTT handler, not in a thread. A verb is a few
milliseconds of Python holding the database's write lock (SQLite) or its
rows' locks. In a thread it competed with the event loop for the GIL at
every statement (the driver lets the GIL go around each call), and under
load a verb held the lock 2.6 times its own CPU time: measured on the
benchmark hall, 6 ms held for 2.3 ms of work, the other worker waiting
behind it. On the loop it holds the lock for its CPU time, and the worker
serves the next request when the verb is done. Long work (the nightly close,
reports, imports) still runs in threads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from anxin.settings import QueueSettings
from broker.contract import utcnow
from central.direct import Direct, pipelined
from central.queueing import fairness, locking
from central.queueing.clock import operating_day
from central.queueing.errors import NotFound, NotYourWindow
from central.queueing.events import NOTIFIED, QueueBus, QueueChange
from central.queueing.fairness import FairnessKind
from central.queueing.models import (
    Service,
    Ticket,
    TicketEvent,
    TicketState,
    Window,
    WindowState,
)
from central.queueing.states import Verb, advance

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who presses the button.

    A clerk may act only at the window they are signed in at; an admin or
    manager (``any_window``) may act at any window; a caller device bound to
    the window (``device_id``) acts for the clerk signed in there.
    """

    user_id: int | None
    any_window: bool = False
    device_id: str | None = None

    def trail(self) -> dict[str, Any]:
        """Who did it, for the timeline when it is not the window's clerk."""
        out: dict[str, Any] = {}
        if self.device_id:
            out["device"] = self.device_id
        if self.user_id is not None:
            out["by"] = self.user_id
        return out


@dataclass
class Txn:
    """One verb's transaction and what it touched."""

    session: Session
    bus: QueueBus
    settings: QueueSettings
    now: dt.datetime
    day: dt.date
    tickets: set[int] = field(default_factory=set)
    windows: set[int] = field(default_factory=set)
    services: set[int] = field(default_factory=set)
    calls: int = 0
    # Transitions whose in-transaction listeners have not run yet (`settle`).
    pending: list[tuple[Ticket, TicketEvent]] = field(default_factory=list)
    # Timeline entries not yet written (`write_events`).
    events: list[TicketEvent] = field(default_factory=list)
    # The window's current ticket, read under lock with its state
    # (`locking.lock_window_by_number`; SQLite only).
    current: Ticket | None = None
    _connection: Connection | None = field(default=None, init=False, repr=False)
    # Writes held back to go out with the row's next write or at `settle`
    # (`write`'s `hold`).
    _held: dict[tuple[type, int], dict[str, Any]] = field(
        default_factory=dict, init=False, repr=False
    )

    def transition(
        self,
        ticket: Ticket,
        verb: Verb,
        *,
        window_id: int | None = None,
        clerk_id: int | None = None,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
        hold: bool = False,
    ) -> TicketEvent:
        """Move `ticket` by `verb` (or raise `IllegalTransition`) and log it;
        `update` names other columns the step changes, written with the state
        (`hold`: with the ticket's next write or at the verb's end, see `write`)."""
        before = None if verb == Verb.ISSUE else ticket.state
        after = advance(verb, before, number=ticket.number)
        if after == TicketState.CALLED:
            self.calls += 1
        if ticket.id is None:
            ticket.state = after.value
            for key, value in (update or {}).items():
                setattr(ticket, key, value)
            self.session.add(ticket)
            self.session.flush()
        else:
            self.write(ticket, hold=hold, state=after.value, **(update or {}))
        event = TicketEvent(
            ticket_id=ticket.id,
            at=self.now,
            verb=verb.value,
            from_state=before,
            to_state=after.value,
            window_id=window_id,
            clerk_id=clerk_id,
            reason=reason,
            detail=detail or {},
        )
        self.events.append(event)
        self.tickets.add(ticket.id)
        self.services.add(ticket.service_id)
        if window_id is not None:
            self.windows.add(window_id)
        self.pending.append((ticket, event))
        return event

    def note(
        self,
        ticket: Ticket,
        verb: str,
        *,
        window_id: int | None = None,
        clerk_id: int | None = None,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> TicketEvent:
        """A timeline entry that does not change the state (a priority raised)."""
        event = TicketEvent(
            ticket_id=ticket.id,
            at=self.now,
            verb=verb,
            from_state=ticket.state,
            to_state=ticket.state,
            window_id=window_id,
            clerk_id=clerk_id,
            reason=reason,
            detail=detail or {},
        )
        self.events.append(event)
        self.tickets.add(ticket.id)
        self.services.add(ticket.service_id)
        self.pending.append((ticket, event))
        return event

    def write(self, row: Ticket | WindowState, *, hold: bool = False, **values: Any) -> None:
        """Write `values` to the loaded `row`'s columns now, in one statement;
        the object shows them and is not dirty (see the module docstring).

        With `hold`, the statement waits for the row's next write and goes
        out merged with it, or at `settle` with the verb's other held writes
        and its timeline, in one round trip on PostgreSQL: two steps of one
        ticket in a row, such as the implied start of a ticket finished
        straight from "called", are one statement (on PostgreSQL one new row
        version instead of two), and a verb's last writes do not wait for
        one another. Only for a write that nothing the verb reads afterwards
        depends on."""
        for name, value in values.items():
            set_committed_value(row, name, value)
        key = row.id if isinstance(row, Ticket) else row.window_id
        held = self._held.pop((type(row), key), None)
        if held is not None:
            values = {**held, **values}
        if hold:
            self._held[(type(row), key)] = values
            return
        _update(type(row), tuple(values)).execute(self.connection, {**values, _ROW: key})

    def _send_held(self) -> None:
        for (model, key), values in self._held.items():  # in the order held
            _update(model, tuple(values)).execute(self.connection, {**values, _ROW: key})
        self._held.clear()

    @property
    def connection(self) -> Connection:
        """The verb's connection: plain statements on it skip the ORM's layer."""
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection

    def write_events(self) -> None:
        """Append the verb's timeline entries, in order, in one statement.

        They are never read back inside the verb, so they are not ORM
        objects of the session: the unit of work inserted them one by one,
        each fetching its id, about a tenth of a call-next's CPU."""
        if self.events:
            _INSERT_EVENT.execute_many(
                self.connection, [{c: getattr(e, c) for c in _EVENT_COLUMNS} for e in self.events]
            )
            self.events.clear()

    def settle(self) -> None:
        """Finish the verb's work before it commits: its held writes and its
        timeline entries go out together (answered in one round trip on
        PostgreSQL, `direct.pipelined`), and then the in-transaction
        listeners of every transition run, in order, seeing the verb's whole
        outcome. One ORM flush comes first, so that their queries do not
        flush again and again (flushes were a fifth of a call-next)."""
        if self.pending:
            self.session.flush()
        together = len(self._held) + bool(self.events) > 1
        with pipelined(self.connection) if together else contextlib.nullcontext():
            self._send_held()
            self.write_events()
        while self.pending:
            ticket, event = self.pending.pop(0)
            self.bus.transitioned(self.session, ticket, event)

    def fairness(
        self,
        kind: FairnessKind,
        reason: str,
        ticket: Ticket,
        *,
        window_id: int | None = None,
        clerk_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        locking.lock_fairness_chain(self.session)
        fairness.append(
            self.session,
            kind=kind,
            reason=reason,
            at=self.now,
            ticket_id=ticket.id,
            ticket_number=ticket.number,
            window_id=window_id,
            clerk_id=clerk_id,
            detail=detail,
        )

    def change(self) -> QueueChange:
        return QueueChange(
            self.day,
            frozenset(self.tickets),
            frozenset(self.windows),
            frozenset(self.services),
            notified=bool(self.session.info.pop(NOTIFIED, False)),
            calls=self.calls,
        )


def run(
    session: Session,
    work: Callable[[Txn], T],
    *,
    bus: QueueBus,
    settings: QueueSettings,
    now: dt.datetime | None = None,
    day: dt.date | None = None,
) -> T:
    """Run one verb in its own transaction; tell the bus after commit."""
    moment = now or utcnow()
    txs: list[Txn] = []

    def attempt() -> T:
        txs.clear()
        session.info.pop(NOTIFIED, None)  # a retried attempt starts clean
        tx = Txn(session, bus, settings, moment, day or operating_day(moment, settings))
        txs.append(tx)
        result = work(tx)
        tx.settle()
        return result

    result = locking.run_write(session, attempt)
    bus.committed(txs[-1].change())
    return result


# `Txn.write`: one statement per table and set of columns, made on first use
# and run on the driver's cursor (`central.direct`).
_ROW = "row_key"
_PRIMARY_KEY: dict[type, str] = {Ticket: "id", WindowState: "window_id"}
_UPDATES: dict[tuple[type, tuple[str, ...]], Direct] = {}


def _update(model: type, columns: tuple[str, ...]) -> Direct:
    found = _UPDATES.get((model, columns))
    if found is None:
        table = cast(Table, model.__table__)  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c[_PRIMARY_KEY[model]] == bindparam(_ROW))
            .values({c: bindparam(c) for c in columns})
        )
        found = _UPDATES.setdefault((model, columns), Direct(statement))
    return found


_EVENT_COLUMNS = tuple(c.key for c in TicketEvent.__table__.columns if c.key != "id")
_INSERT_EVENT = Direct(
    insert(cast(Table, TicketEvent.__table__)).values({c: bindparam(c) for c in _EVENT_COLUMNS})
)


# --- look-ups ------------------------------------------------------------------------


_WINDOW_BY_NUMBER = select(Window).where(Window.number == bindparam("number"))


def window_by_number(session: Session, number: int) -> Window:
    window = session.scalar(_WINDOW_BY_NUMBER, {"number": number})
    if window is None or not window.active:
        raise NotFound(f"没有 {number} 号窗口")
    return window


_SERVICE_BY_CODE = select(Service).where(Service.code == bindparam("code"))


def service_by_code(session: Session, code: str) -> Service:
    service = session.scalar(_SERVICE_BY_CODE, {"code": code})
    if service is None or not service.active:
        raise NotFound(f"没有业务 {code!r}")
    return service


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"没有编号为 {ticket_id} 的号票")
    return ticket


def timeline(session: Session, ticket_id: int) -> list[TicketEvent]:
    return list(
        session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
    )


def waiting(session: Session, *, service_id: int, day: dt.date) -> list[Ticket]:
    """Waiting tickets of a service in queue order (issue time; priority is the
    call-next rule's business, see `calling`)."""
    return list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.service_id == service_id,
                Ticket.day == day,
                Ticket.state == TicketState.WAITING.value,
            )
            .order_by(Ticket.queued_at, Ticket.id)
        )
    )


def open_window(
    tx: Txn, number: int, actor: Actor, *, check_actor: bool = True
) -> tuple[Window, WindowState]:
    """The window and its state row, locked for this verb, after the actor check."""
    found = locking.lock_window_by_number(tx.session, number)
    if found is None or not found[0].active:
        window = window_by_number(tx.session, number)  # or NotFound
        state = locking.lock_window_state(tx.session, window.id, tx.now)
    else:
        window, state, tx.current = found
    mine = actor.any_window or actor.device_id is not None or state.clerk_id == actor.user_id
    if check_actor and not mine:
        raise NotYourWindow(f"您未在 {number} 号窗口登录，不能操作该窗口")
    tx.windows.add(window.id)
    return window, state
