"""Property-based: random sequences of verbs from several windows never break
the queue's promises.

- No ticket is ever held by two windows; a window's ticket is called or
  being served, and every called or served ticket is some window's.
- Numbers are unique per service per day.
- Each ticket's timeline is a chain of legal transitions ending in its state.
- After the nightly close every ticket of the day is in exactly one final state.
- The fairness chain verifies.

Each example runs on its own operating day of the same database, so days
never mix (numbers restart, call-next looks at one day).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from central.auth.models import User
from central.queueing import fairness, service
from central.queueing.errors import QueueError
from central.queueing.models import (
    FINAL_STATES,
    Priority,
    Service,
    Ticket,
    TicketEvent,
    TicketState,
    WindowState,
)
from central.queueing.states import TRANSITIONS, Verb
from tests.queueing.hall import MORNING, Hall

WINDOWS = 4
SERVICES = ("market", "tax")
_days = itertools.count(1)

window = st.integers(1, WINDOWS)
pick = st.integers(0, 30)  # an index into the day's tickets, modulo their number
issue = st.tuples(st.just("issue"), st.sampled_from(SERVICES), st.sampled_from(list(Priority)))
calls = st.tuples(st.sampled_from(["next", "next_finish"]), window)
at_window = st.tuples(
    st.sampled_from(
        ["start", "finish", "recall", "no_show", "park", "transfer", "pause", "resume"]
    ),
    window,
)
by_id = st.tuples(st.sampled_from(["call_specific", "unpark", "park_id"]), window, pick)
# Issues and calls weigh more, so that windows have tickets to act on.
steps = st.lists(
    st.one_of(
        issue, issue, calls, calls, at_window, at_window, by_id, st.tuples(st.just("cancel"), pick)
    ),
    min_size=10,
    max_size=50,
)


def _build(h: Hall) -> None:
    h.service("market", "A", "市场准入")
    h.service("tax", "S", "税务")
    layouts = [{"market": 1.0}, {"tax": 1.0}, {"market": 1.0, "tax": 2.0}, {"market": 0.5}]
    for n, layout in enumerate(layouts, start=1):
        h.window(n, layout)
        h.clerk(f"clerk{n}", list(SERVICES))


def _apply(h: Hall, step: tuple[Any, ...], tickets: list[int]) -> None:
    name = step[0]
    if name == "issue":
        kw: dict[str, Any] = {"priority": step[2]}
        if step[2] in (Priority.GREEN, Priority.VIP):
            kw["priority_reason"] = "elderly"
        if step[2] == Priority.APPOINTMENT:
            kw["appointment_at"] = h.now + dt.timedelta(minutes=5)
        tickets.append(h.issue(step[1], **kw).id)
        return
    if name == "cancel":
        if tickets:
            with h.sessions() as s:
                service.cancel(
                    s,
                    ticket_id=tickets[step[1] % len(tickets)],
                    reason="citizen",
                    bus=h.bus,
                    settings=h.settings,
                    now=h.tick(20),
                )
        return
    w = step[1]
    simple: dict[str, tuple[str, dict[str, Any]]] = {
        "next": ("call_next", {}),
        "next_finish": ("call_next", {"finish_current": "completed"}),
        "start": ("start", {}),
        "finish": ("finish", {"outcome": "completed"}),
        "recall": ("recall", {}),
        "no_show": ("no_show", {"reason": "citizen_left"}),
        "park": ("park", {"reason": "copy_documents"}),
        "transfer": (
            "transfer",
            {"to_service": "tax", "reason": "wrong_service", "return_after": True},
        ),
        "pause": ("pause", {"reason": "break"}),
        "resume": ("resume", {}),
    }
    if name in simple:
        verb, kw = simple[name]
        h.verb(verb, w, now=h.tick(20), **kw)
        return
    if not tickets:
        return
    tid = tickets[step[2] % len(tickets)]
    if name == "call_specific":
        h.verb("call_specific", w, ticket_id=tid, reason="supervisor", now=h.tick(20))
    elif name == "unpark":
        h.verb("unpark", w, ticket_id=tid, now=h.tick(20))
    else:
        h.verb("park", w, ticket_id=tid, reason="citizen_away", now=h.tick(20))


def _check_holding(h: Hall, day: dt.date) -> None:
    with h.sessions() as s:
        held = {
            st.window_id: st.current_ticket_id
            for st in s.scalars(select(WindowState))
            if st.current_ticket_id is not None
        }
        assert len(set(held.values())) == len(held), "a ticket held by two windows"
        active = {
            t.id: t
            for t in s.scalars(
                select(Ticket).where(Ticket.day == day, Ticket.state.in_(["called", "serving"]))
            )
        }
        assert set(held.values()) == set(active), "called tickets and window tickets differ"
        for window_id, ticket_id in held.items():
            assert active[ticket_id].window_id == window_id


def _check_day(h: Hall, day: dt.date) -> None:
    with h.sessions() as s:
        tickets = s.scalars(select(Ticket).where(Ticket.day == day)).all()
        finals = {f.value for f in FINAL_STATES}
        assert all(t.state in finals for t in tickets)
        numbers = Counter((t.service_id, t.number) for t in tickets)
        assert all(n == 1 for n in numbers.values()), "a number issued twice"
        for t in tickets:
            events = s.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)
            ).all()
            assert events[0].verb == Verb.ISSUE
            assert events[0].from_state is None
            state = None
            for e in events:
                assert e.from_state == state, (t.number, e.verb)
                if e.verb != "priority":  # a raised priority is noted, not a transition
                    before: TicketState | None = TicketState(e.from_state) if e.from_state else None
                    assert TRANSITIONS[(Verb(e.verb), before)] == e.to_state
                state = e.to_state
            assert state == t.state
        assert fairness.verify_chain(s).ok


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_random_verbs_from_many_windows_keep_every_promise(
    hall: Hall, steps: list[tuple[Any, ...]]
) -> None:
    if hall.db(lambda s: s.scalar(select(Service.id).limit(1))) is None:
        _build(hall)
    hall.now = MORNING + dt.timedelta(days=next(_days))
    day = hall.day
    with hall.sessions() as s:
        clerks = {u.username: u.id for u in s.scalars(select(User))}
    for n in range(1, WINDOWS + 1):
        hall.login(n, clerks[f"clerk{n}"])
    tickets: list[int] = []
    for step in steps:
        try:
            _apply(hall, step, tickets)
            event(f"ran {step[0]}")
        except QueueError:
            event(f"refused {step[0]}")  # part of the game; test_states shows they change nothing
        _check_holding(hall, day)
    hall.close(day)
    _check_day(hall, day)
