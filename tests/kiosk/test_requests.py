"""The hub's side of a kiosk request, without MQTT: claimed once, voided safely."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from broker.contract import TicketRequest, new_id
from central.queueing.kiosks import apply_offline, handle_request, replenish, void_request
from central.queueing.models import KioskRequest, Ticket, TicketState
from tests.queueing.hall import Hall


def _request(service: str = "general") -> TicketRequest:
    return TicketRequest(request_id=new_id(), service=service)


def _kw(hall: Hall) -> dict[str, Any]:
    return {"bus": hall.bus, "settings": hall.settings, "now": hall.tick()}


def test_a_request_is_issued_once_however_often_it_arrives(counter: Hall) -> None:
    request = _request()
    with counter.sessions() as s:
        reply = handle_request(s, device_id="kiosk-01", request=request, **_kw(counter))
        again = handle_request(s, device_id="kiosk-01", request=request, **_kw(counter))
    assert reply is not None
    assert reply.ok
    assert again is None, "a second worker (or a duplicate) does not answer"
    assert counter.db(lambda s: len(s.scalars(select(Ticket)).all())) == 1


def test_a_void_after_the_issue_cancels_the_ticket_nobody_holds(counter: Hall) -> None:
    request = _request()
    with counter.sessions() as s:
        reply = handle_request(s, device_id="kiosk-01", request=request, **_kw(counter))
        assert reply is not None
        what = void_request(s, device_id="kiosk-01", request_id=request.request_id,
                            **_kw(counter))  # fmt: skip
    assert what == "cancelled"
    (ticket,) = counter.db(lambda s: s.scalars(select(Ticket)).all())
    assert ticket.state == TicketState.CANCELLED.value
    assert ticket.number == reply.number


def test_a_void_before_the_request_keeps_it_from_being_issued(counter: Hall) -> None:
    request = _request()
    with counter.sessions() as s:
        void_request(s, device_id="kiosk-01", request_id=request.request_id, **_kw(counter))
        assert handle_request(s, device_id="kiosk-01", request=request, **_kw(counter)) is None
    assert counter.db(lambda s: s.scalars(select(Ticket)).all()) == []
    outcome = counter.db(lambda s: s.scalar(select(KioskRequest.outcome)))
    assert outcome == "void"


def test_offline_tickets_apply_once_and_only_from_the_kiosks_own_blocks(counter: Hall) -> None:
    with counter.sessions() as s:
        blocks = replenish(s, device_id="kiosk-01", settings=counter.settings, now=counter.now)
    block = next(b for b in blocks.blocks if b.service == "general")
    issued_at = counter.now - dt.timedelta(minutes=5)
    data = {"service": "general", "day": block.day, "seq": block.first,
            "number": f"A{block.first:03d}", "token": "k" * 22,
            "issued_at": issued_at.isoformat(), "citizen_id": "13800138000"}  # fmt: skip
    with counter.sessions() as s:
        first = apply_offline(s, device_id="kiosk-01", data=data, **_kw(counter))
        replay = apply_offline(s, device_id="kiosk-01", data=data, **_kw(counter))
        stranger = apply_offline(s, device_id="kiosk-02", data=data | {"seq": block.first + 1},
                                 **_kw(counter))  # fmt: skip
    assert (first, replay, stranger) == ("added", "duplicate", "not in a block of this kiosk")
    (ticket,) = counter.db(lambda s: s.scalars(select(Ticket)).all())
    assert ticket.issued_at == issued_at
    assert ticket.queued_at == issued_at
    assert ticket.citizen_masked == "138****8000"
    # The hub's own next number skips the block.
    online = counter.issue("general")
    assert online.seq > block.last
