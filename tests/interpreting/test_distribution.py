"""Distribution like a call centre, through the real hub's sockets: two
interpreters, five requests (and one that gives up), one interpreter who does
not answer. Then the report must tell the same story as the event log."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from contextlib import AsyncExitStack
from pathlib import Path

from sqlalchemy import select

from broker.signalling import (
    Accept,
    Connected,
    Ended,
    Hangup,
    Offer,
    Outcome,
    Queued,
    Request,
    Status,
)
from central.auth.models import Role
from central.db import make_engine, make_sessionmaker
from central.interpreting.models import InterpEvent
from central.interpreting.reports import interpreting_report
from central.queueing.period import Period, hall_zone
from tests.conftest import RunningBroker
from tests.interpreting.conftest import ServedHub, Side, served_hub

TIMEOUT_S = 0.5


async def serve(a: Side, offer: Offer, term: Side) -> None:
    """A accepts, signs a moment, hangs up and records the outcome."""
    await a.send(Accept(request_id=offer.request_id))
    await a.expect(Connected)
    await term.expect(Connected)
    await asyncio.sleep(0.05)
    await a.send(Hangup(request_id=offer.request_id))
    await a.expect(Ended)
    await term.expect(Hangup)
    await a.send(Outcome(request_id=offer.request_id, outcome="served"))


async def test_requests_go_in_order_to_the_longest_idle_and_move_on_when_unanswered(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path
) -> None:
    async with served_hub(database_url, tmp_path, mosquitto, offer_timeout_s=TIMEOUT_S) as hub:
        hub.add_user("li", Role.INTERPRETER, "李娜")
        hub.add_user("wang", Role.INTERPRETER, "王强")
        async with AsyncExitStack() as stack:
            b = await stack.enter_async_context(hub.console("wang"))
            a = await stack.enter_async_context(hub.console("li"))
            await b.send(Status(status="available"))  # 王强 has been idle longest
            await asyncio.sleep(0.05)
            await a.send(Status(status="available"))
            terms = [
                await stack.enter_async_context(hub.terminal(f"sign-0{n}")) for n in range(1, 6)
            ]
            ids = []
            for term in terms:
                await term.send(Request())
                ids.append((await term.expect(Queued)).request_id)

            # The first request rings the longest idle (王强), the second 李娜.
            to_b = await b.expect(Offer)
            offered_b_at = time.monotonic()
            to_a = await a.expect(Offer)
            assert (to_b.request_id, to_a.request_id) == (ids[0], ids[1])
            assert to_b.expires_in_s == TIMEOUT_S
            await a.send(Accept(request_id=to_a.request_id))
            await a.expect(Connected)
            await terms[1].expect(Connected)

            # 王强 does not answer: after the timeout his ringing stops and he is set busy.
            missed = await b.expect(Ended, within_s=3)
            assert missed.request_id == ids[0]
            assert time.monotonic() - offered_b_at >= TIMEOUT_S * 0.9
            assert "转给其他翻译员" in (missed.reason or "")
            # The waiting terminals were told their place, in arrival order.
            positions = {}
            for n in (2, 3, 4):
                q = await terms[n].next()
                while not isinstance(q, Queued) or q.position != n:
                    q = await terms[n].next()
                positions[n] = q
            assert [positions[n].position for n in (2, 3, 4)] == [2, 3, 4]
            assert all(positions[n].expected_wait_s is not None for n in (2, 3, 4))

            # 李娜 finishes, then gets the head of the queue: the unanswered first request.
            await a.send(Hangup(request_id=to_a.request_id))
            await a.expect(Ended)
            await a.send(Outcome(request_id=to_a.request_id, outcome="served"))
            again = await a.expect(Offer)
            assert again.request_id == ids[0]
            await serve(a, again, terms[0])
            for n in (2, 3, 4):
                offer = await a.expect(Offer)
                assert offer.request_id == ids[n]
                await serve(a, offer, terms[n])
            # 王强 heard nothing more: he is busy.
            await b.silent(0.3)

            # A sixth citizen gives up while nobody is free.
            await a.send(Status(status="break"))
            async with hub.terminal("sign-06") as quitter:
                await quitter.send(Request())
                await quitter.expect(Queued)
            await asyncio.sleep(0.3)
            await hub.service.recorder.flush()
        check_report_against_event_log(hub)


def check_report_against_event_log(hub: ServedHub) -> None:
    engine = make_engine(hub.settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            events = list(session.scalars(select(InterpEvent).order_by(InterpEvent.id)))
            zone = hall_zone(hub.settings.hub.display_timezone)
            today = dt.datetime.now(zone).date()
            report = interpreting_report(session, period=Period(today, today, zone))
    finally:
        engine.dispose()
    # The story the event log tells, computed here independently.
    requested = {e.request_id: e.at for e in events if e.kind == "requested"}
    answered = {e.request_id: e for e in events if e.kind == "answered"}
    ended = {e.request_id: e.at for e in events if e.kind == "ended"}
    abandoned = [e for e in events if e.kind == "abandoned"]
    timeouts = [e for e in events if e.kind == "timeout"]
    waits = [(answered[r].at - requested[r]).total_seconds() for r in answered]
    talks = [(ended[r] - answered[r].at).total_seconds() for r in answered]
    assert len(requested) == 6
    assert len(answered) == 5
    assert len(abandoned) == 1
    assert len(timeouts) == 1

    t = report.total
    assert (t.requests, t.answered, t.abandoned, t.open) == (6, 5, 1, 0)
    assert t.abandon_rate == round(100 / 6, 1)
    assert t.asa_s == round(sum(waits) / 5, 1)
    assert t.aht_s == round(sum(talks) / 5, 1)
    assert t.within_30 == round(100 * sum(w <= 30 for w in waits) / 6, 1)
    assert t.within_120 == t.within_30
    assert (t.offers, t.missed) == (6, 1)  # five answered, one missed
    rows = {f.label: f for f in report.by_interpreter}
    assert (rows["李娜"].answered, rows["李娜"].offers, rows["李娜"].missed) == (5, 5, 0)
    assert (rows["王强"].answered, rows["王强"].offers, rows["王强"].missed) == (0, 1, 1)
    assert rows["王强"].within_30 is None  # answered nothing
