"""The ticket state machine: only the legal transitions happen; an illegal one
is refused with a clear Chinese message and changes nothing in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from central.queueing import service
from central.queueing.errors import IllegalTransition, QueueError, Refused
from central.queueing.models import FINAL_STATES, TicketState
from central.queueing.states import TRANSITIONS, VERB_LABELS, Verb, advance
from tests.queueing.hall import SUPERVISOR, Hall

ALL_STATES: list[TicketState | None] = [None, *TicketState]


@pytest.mark.parametrize("verb", list(Verb))
def test_every_verb_is_legal_exactly_from_the_states_in_the_table(verb: Verb) -> None:
    for state in ALL_STATES:
        expected = TRANSITIONS.get((verb, state))
        if expected is not None:
            assert advance(verb, state) == expected
            continue
        with pytest.raises(IllegalTransition) as refused:
            advance(verb, state, number="A001")
        assert VERB_LABELS[verb] in refused.value.message
        assert refused.value.message.startswith("无法")


def test_final_states_have_no_way_out() -> None:
    for (_verb, state), _to in TRANSITIONS.items():
        assert state not in FINAL_STATES


def test_a_refusal_names_the_ticket_and_the_states_that_would_do() -> None:
    with pytest.raises(IllegalTransition) as refused:
        advance(Verb.START, TicketState.WAITING, number="A007")
    assert refused.value.message == (
        "无法开始办理：号码 A007 当前为“等候中”，只有“已叫号”的号码可以开始办理"
    )
    with pytest.raises(IllegalTransition) as done:
        advance(Verb.RECALL, TicketState.DONE, number="A007")
    assert "已结束（已办结）" in done.value.message


# --- through the database ------------------------------------------------------------


def _hall_with_a_ticket_in_every_state(h: Hall) -> dict[TicketState, int]:
    """Window n holds the ticket it needs; window 9 stays free to act."""
    h.service("general", "A", "综合受理")
    h.service("tax", "S", "税务")
    clerks = {}
    for n in range(1, 10):
        h.window(n, {"general": 1.0})
        clerks[n] = h.clerk(f"clerk{n}", ["general", "tax"])
    yesterday = h.now - dt.timedelta(days=1)
    expired = h.issue("general", now=yesterday)
    with h.sessions() as s:
        service.close_day(
            s, day=h.day - dt.timedelta(days=1), reason="day_end", bus=h.bus, settings=h.settings
        )
    for n, clerk in clerks.items():
        h.login(n, clerk)
    ids: dict[TicketState, int] = {TicketState.EXPIRED: expired.id}

    def at(window: int, *steps: Callable[[int], Any]) -> int:
        ticket = h.issue("general")
        got = h.next(window).ticket
        assert got is not None
        assert got.id == ticket.id
        for step in steps:
            h.tick(20)
            step(window)
        return ticket.id

    ids[TicketState.CALLED] = at(1)
    ids[TicketState.SERVING] = at(2, h.start)
    ids[TicketState.PARKED] = at(3, lambda w: h.verb("park", w, reason="copy_documents"))
    ids[TicketState.DONE] = at(4, h.start, h.finish)
    ids[TicketState.NO_SHOW] = at(5, lambda w: h.verb("no_show", w, reason="citizen_left"))
    ids[TicketState.TRANSFERRED] = at(
        6,
        h.start,
        lambda w: h.verb(
            "transfer", w, to_service="tax", reason="wrong_service", return_after=False
        ),
    )
    cancelled = h.issue("general")
    with h.sessions() as s:
        service.cancel(s, ticket_id=cancelled.id, reason="citizen", bus=h.bus, settings=h.settings)
    ids[TicketState.CANCELLED] = cancelled.id
    ids[TicketState.WAITING] = h.issue("general").id
    for state, tid in ids.items():
        assert h.ticket(tid).state == state.value
    return ids


BY_ID: dict[str, tuple[Verb, dict[str, Any]]] = {
    "call_specific": (Verb.CALL_SPECIFIC, {"reason": "supervisor"}),
    "park": (Verb.PARK, {"reason": "copy_documents"}),
    "unpark": (Verb.UNPARK, {}),
}


def test_illegal_transitions_are_refused_and_leave_the_database_unchanged(hall: Hall) -> None:
    ids = _hall_with_a_ticket_in_every_state(hall)
    refused = 0
    for name, (verb, kw) in BY_ID.items():
        for state, tid in ids.items():
            if (verb, state) in TRANSITIONS:
                continue
            before = hall.snapshot()
            with pytest.raises(QueueError) as exc:
                hall.verb(name, 9, ticket_id=tid, **kw)
            # Parking a ticket called at another window is a rule, not the state machine.
            if not (verb == Verb.PARK and state == TicketState.CALLED):
                assert isinstance(exc.value, IllegalTransition), (name, state, exc.value)
            assert hall.snapshot() == before, (name, state)
            refused += 1
    for state, tid in ids.items():
        if (Verb.CANCEL, state) in TRANSITIONS:
            continue
        before = hall.snapshot()
        with hall.sessions() as s, pytest.raises(IllegalTransition):
            service.cancel(s, ticket_id=tid, reason="staff", bus=hall.bus, settings=hall.settings)
        assert hall.snapshot() == before
        refused += 1
    # Verbs on the window's own ticket: window 1 holds a called one, window 2 a serving one.
    on_called: dict[str, dict[str, Any]] = {
        "finish": {"outcome": "completed"},
        "transfer": {"to_service": "tax", "reason": "wrong_service", "return_after": False},
    }
    on_serving: dict[str, dict[str, Any]] = {
        "start": {},
        "recall": {},
        "no_show": {"reason": "citizen_left"},
        "park": {"reason": "copy_documents"},
    }
    for window, verbs in ((1, on_called), (2, on_serving)):
        for name, kw in verbs.items():
            before = hall.snapshot()
            with pytest.raises(IllegalTransition):
                hall.verb(name, window, **kw)
            assert hall.snapshot() == before, name
            refused += 1
    assert refused == 35  # 8 + 7 + 8 by id, 6 cancels, 2 + 4 at the window


def test_every_legal_transition_happens_through_the_verbs(hall: Hall) -> None:
    ids = _hall_with_a_ticket_in_every_state(hall)
    # issue, call, start, finish, park (called), no_show, transfer, cancel
    # (waiting) and expire happened while building the hall; the rest here.
    hall.tick(20)
    hall.verb("recall", 1)
    assert hall.ticket(ids[TicketState.CALLED]).recalls == 1
    hall.verb("unpark", 9, ticket_id=ids[TicketState.PARKED])
    hall.verb("park", 9, ticket_id=ids[TicketState.PARKED], reason="citizen_away")
    with hall.sessions() as s:
        service.cancel(
            s,
            ticket_id=ids[TicketState.PARKED],
            reason="citizen",
            bus=hall.bus,
            settings=hall.settings,
        )
        service.cancel(
            s,
            ticket_id=ids[TicketState.CALLED],
            reason="citizen",
            bus=hall.bus,
            settings=hall.settings,
        )
    assert hall.window_state(1).current_ticket_id is None
    out = hall.verb("call_specific", 9, ticket_id=ids[TicketState.WAITING], reason="supervisor")
    assert out.ticket is not None
    assert out.ticket.state == TicketState.CALLED.value
    assert hall.close() >= 2  # the serving ticket at window 2, the called one at 9, tax's copy
    for tid in ids.values():
        assert hall.ticket(tid).state in {s.value for s in FINAL_STATES}
    with pytest.raises(Refused):
        hall.next(9, actor=SUPERVISOR)  # everyone was signed out by the close
