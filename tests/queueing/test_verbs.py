"""Window verbs as a clerk and a citizen notice them: who gets called, what is
refused and why, what the fairness log and the timeline keep."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from central.queueing import fairness, txn
from central.queueing.errors import Invalid, NotYourWindow, ReasonRequired, Refused
from central.queueing.events import QueueChange
from central.queueing.models import Channel, Priority, Ticket, TicketEvent
from central.queueing.service import Actor
from tests.queueing.hall import SHANGHAI, Hall


def at_local(h: Hall, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(h.day, dt.time(hour, minute), SHANGHAI).astimezone(dt.UTC)


# --- issuing -----------------------------------------------------------------------------


def test_numbers_are_prefixed_zero_padded_and_restart_the_next_day(counter: Hall) -> None:
    assert [counter.issue("general").number for _ in range(3)] == ["A001", "A002", "A003"]
    tomorrow = counter.now + dt.timedelta(days=1)
    assert counter.issue("general", now=tomorrow).number == "A001"


def test_a_wide_number_range_pads_to_its_width(hall: Hall) -> None:
    hall.service("estate", "B", number_start=1, number_end=1200)
    assert hall.issue("estate").number == "B0001"


def test_the_daily_cap_refuses_the_next_citizen_with_a_reason(hall: Hall) -> None:
    hall.service("estate", "B", "不动产登记", daily_cap=2)
    hall.issue("estate")
    hall.issue("estate")
    with pytest.raises(Refused, match="取号已达上限（2 个）"):
        hall.issue("estate")


def test_the_number_range_running_out_is_refused(hall: Hall) -> None:
    hall.service("estate", "B", number_start=998, number_end=999)
    assert [hall.issue("estate").number for _ in range(2)] == ["B998", "B999"]
    with pytest.raises(Refused, match="号码已发完"):
        hall.issue("estate")


def test_no_tickets_outside_opening_hours(hall: Hall) -> None:
    hall.service("estate", "B", "不动产登记")
    with pytest.raises(Refused, match="08:30–17:30"):
        hall.issue("estate", now=at_local(hall, 7, 59))


def test_issuing_stops_when_the_forecast_wait_passes_closing_time(hall: Hall) -> None:
    # 10 min each, one window: at 16:00 nine waiting means 90 min > 17:30.
    hall.service("estate", "B", "不动产登记", avg_handling_s=600)
    hall.window(1, {"estate": 1.0})
    hall.login(1, hall.clerk("li", ["estate"]))
    afternoon = at_local(hall, 16, 0)
    for i in range(9):
        hall.issue("estate", now=afternoon + dt.timedelta(seconds=i))
    with pytest.raises(Refused) as refused:
        hall.issue("estate", now=afternoon + dt.timedelta(seconds=10))
    assert refused.value.message == "今日该业务已停止取号：预计等候将超过下班时间"
    # A second open window halves the forecast: issuing resumes.
    hall.window(2, {"estate": 1.0})
    hall.login(2, hall.clerk("zhao", ["estate"]))
    assert hall.issue("estate", now=afternoon + dt.timedelta(seconds=11)).number == "B010"


def test_one_open_ticket_per_person_per_service_and_identity_is_masked(counter: Hall) -> None:
    first = counter.issue("general", citizen_id="610102199001011234", citizen_name="张小三")
    assert first.citizen_masked == "张*三 6101**********1234"
    assert first.citizen_hash
    assert "1990" not in first.citizen_hash
    with pytest.raises(Refused, match="您已有“综合受理”的有效号码 A001"):
        counter.issue("general", citizen_id="610102 19900101 1234")
    phone = counter.issue("general", citizen_id="+86 138-1234-1234")
    assert phone.citizen_masked == "138****1234"
    with pytest.raises(Invalid):
        counter.issue("general", citizen_id="12345")


def test_green_channel_needs_a_reason_and_is_logged(counter: Hall) -> None:
    with pytest.raises(ReasonRequired, match="优先取号需要填写原因代码"):
        counter.issue("general", priority=Priority.GREEN)
    ticket = counter.issue("general", priority=Priority.GREEN, priority_reason="elderly")
    [entry] = counter.fairness()
    assert (entry.kind, entry.reason, entry.ticket_id) == ("green_channel", "elderly", ticket.id)


# --- the call-next rule ----------------------------------------------------------------------


def test_priority_classes_come_first_green_vip_appointment_then_normal(hall: Hall) -> None:
    hall.service("general", "A")
    hall.window(1, {"general": 1.0})
    hall.login(1, hall.clerk("wang", ["general"]))
    normal = hall.issue("general")
    late_booking = hall.issue("general", appointment_at=hall.now - dt.timedelta(hours=2))
    booked = hall.issue("general", appointment_at=hall.now + dt.timedelta(minutes=5))
    vip = hall.issue("general", priority=Priority.VIP, priority_reason="vip_rule")
    green = hall.issue("general", priority=Priority.GREEN, priority_reason="disabled")
    order = []
    for _ in range(5):
        out = hall.next(1, finish_current="completed")
        assert out.ticket is not None
        order.append(out.ticket.id)
    # A booking two hours late is an ordinary ticket, in line by its queue time.
    assert order == [green.id, vip.id, booked.id, normal.id, late_booking.id]


def test_a_window_with_two_services_is_fair_by_weighted_waiting_time(hall: Hall) -> None:
    hall.service("market", "A", "市场准入")
    hall.service("tax", "S", "税务")
    hall.window(1, {"market": 1.0, "tax": 3.0})
    hall.login(1, hall.clerk("wang", ["market", "tax"]))
    start = hall.now
    market = hall.issue("market", now=start - dt.timedelta(minutes=20))
    tax = hall.issue("tax", now=start - dt.timedelta(minutes=10))
    # market waited 20 min x 1, tax 10 min x 3: tax goes first.
    out = hall.next(1, now=start)
    assert out.ticket is not None
    assert out.ticket.id == tax.id
    assert out.why is not None
    assert out.why["picked"]["number"] == "S001"
    assert out.why["beaten"][0]["number"] == market.number
    assert "加权等候最长" in out.why["text"]
    event = hall.events(tax.id)[-1]
    assert event.verb == "call"
    assert event.detail["why"]["picked"]["score"] == 1800.0


def test_equal_weighted_waits_go_by_queue_time_then_id(hall: Hall) -> None:
    hall.service("market", "A")
    hall.service("tax", "S")
    hall.window(1, {"market": 1.0, "tax": 1.0})
    hall.login(1, hall.clerk("wang", ["market", "tax"]))
    moment = hall.now - dt.timedelta(minutes=5)
    first = hall.issue("tax", now=moment)
    hall.issue("market", now=moment)
    out = hall.next(1)
    assert out.ticket is not None
    assert out.ticket.id == first.id


def test_a_clerk_is_only_given_services_they_are_certified_for(hall: Hall) -> None:
    hall.service("market", "A")
    hall.service("tax", "S")
    hall.window(1, {"market": 1.0, "tax": 5.0})
    hall.login(1, hall.clerk("wang", ["market"]))
    tax = hall.issue("tax")
    market = hall.issue("market")
    out = hall.next(1)
    assert out.ticket is not None
    assert out.ticket.id == market.id
    hall.start(1)
    hall.finish(1)
    with pytest.raises(Refused, match="办理资格"):
        hall.verb("call_specific", 1, ticket_id=tax.id, reason="supervisor")


def test_nobody_waiting_gives_an_empty_call_not_an_error(counter: Hall) -> None:
    out = counter.next(1)
    assert out.ticket is None
    assert out.window.current_ticket_id is None


# --- window rules ---------------------------------------------------------------------------


def test_a_closed_or_paused_window_cannot_call(counter: Hall) -> None:
    counter.issue("general")
    with pytest.raises(ReasonRequired):
        counter.verb("pause", 1, reason=None)
    counter.verb("pause", 1, reason="break")
    with pytest.raises(Refused, match="已暂停（休息）"):
        counter.next(1)
    counter.verb("resume", 1)
    assert counter.next(1).ticket is not None
    with pytest.raises(Refused, match="请先处理当前号码 A001"):
        counter.verb("logout", 1)


def test_a_clerk_acts_only_at_the_window_they_are_signed_in_at(counter: Hall) -> None:
    counter.window(2, {"general": 1.0})
    other = counter.clerk("zhang", ["general"])
    with pytest.raises(NotYourWindow):
        counter.next(1, actor=Actor(user_id=other))
    with pytest.raises(NotYourWindow):
        counter.login(2, other, actor=Actor(user_id=other + 100))
    counter.login(2, other, actor=Actor(user_id=other))
    with pytest.raises(Refused, match="1 号窗口已有其他工作人员登录"):
        counter.login(1, other, actor=Actor(user_id=other))
    counter.window(3, {"general": 1.0})
    with pytest.raises(Refused, match="您已在 2 号窗口登录"):
        counter.login(3, other, actor=Actor(user_id=other))


def test_recall_waits_for_the_delay_and_stops_at_the_limit(counter: Hall) -> None:
    counter.issue("general")
    counter.next(1)
    with pytest.raises(Refused, match="不足 15 秒"):
        counter.verb("recall", 1)
    for n in range(1, 4):
        counter.tick(15)
        assert counter.verb("recall", 1).ticket.recalls == n  # type: ignore[union-attr]
    counter.tick(15)
    with pytest.raises(Refused, match="已重呼 3 次"):
        counter.verb("recall", 1)
    out = counter.verb("no_show", 1, reason=None)  # after max recalls no reason is needed
    assert out.ticket is not None
    assert out.ticket.state == "no_show"
    [entry] = counter.fairness()
    assert (entry.kind, entry.reason) == ("no_show", "max_recalls")


def test_an_early_no_show_needs_a_reason(counter: Hall) -> None:
    counter.issue("general")
    counter.next(1)
    with pytest.raises(ReasonRequired, match="提前过号需要原因代码"):
        counter.verb("no_show", 1, reason=None)
    counter.verb("no_show", 1, reason="citizen_left")
    assert counter.window_state(1).current_ticket_id is None


def test_calling_out_of_order_needs_a_reason_and_is_logged(counter: Hall) -> None:
    first = counter.issue("general")
    second = counter.issue("general")
    with pytest.raises(ReasonRequired, match="插队"):
        counter.verb("call_specific", 1, ticket_id=second.id, reason=None)
    with pytest.raises(ReasonRequired, match="未知的"):
        counter.verb("call_specific", 1, ticket_id=second.id, reason="friend")
    counter.verb("call_specific", 1, ticket_id=second.id, reason="returning_citizen")
    [entry] = counter.fairness()
    assert (entry.kind, entry.ticket_number) == ("out_of_order", "A002")
    assert entry.detail["rule_would_pick"] == first.number
    counter.start(1)
    counter.finish(1)
    # Calling the ticket the rule would pick anyway is not a queue-jump.
    counter.verb("call_specific", 1, ticket_id=first.id, reason=None)
    assert len(counter.fairness()) == 1


def test_a_parked_ticket_returns_to_its_original_place(counter: Hall) -> None:
    first = counter.issue("general")
    counter.issue("general")
    counter.next(1)
    counter.verb("park", 1, reason="documents_missing")
    assert counter.ticket(first.id).parked_from == "called"
    counter.verb("unpark", 1, ticket_id=first.id)
    out = counter.next(1)
    assert out.ticket is not None
    assert out.ticket.id == first.id


def test_transfer_keeps_the_place_and_returns_when_asked(hall: Hall) -> None:
    hall.service("market", "A", "市场准入")
    hall.service("tax", "S", "税务")
    hall.window(1, {"market": 1.0})
    hall.window(2, {"tax": 1.0})
    hall.login(1, hall.clerk("wang", ["market"]))
    hall.login(2, hall.clerk("li", ["tax"]))
    early = hall.now - dt.timedelta(minutes=30)
    moving = hall.issue("market", now=early, priority=Priority.VIP, priority_reason="vip_rule")
    token = moving.token
    hall.issue("tax", now=early + dt.timedelta(minutes=1))
    hall.next(1)
    hall.start(1)
    out = hall.verb("transfer", 1, to_service="tax", reason="additional_service", return_after=True)
    new = out.follow_up
    assert new is not None
    assert new.number == "S002"
    assert (new.queued_at, new.priority, new.token) == (moving.queued_at, "vip", token)
    assert new.transferred_from_id == moving.id
    assert hall.ticket(moving.id).state == "transferred"
    # Queued 30 minutes ago: ahead of the tax ticket issued a minute later.
    called = hall.next(2).ticket
    assert called is not None
    assert called.id == new.id
    hall.start(2)
    back = hall.finish(2).follow_up
    assert back is not None
    assert back.number == "A002"
    assert back.queued_at == moving.queued_at
    assert [e.kind for e in hall.fairness()] == ["priority", "transfer"]


def test_fairness_entries_chain_and_verify(counter: Hall) -> None:
    counter.issue("general", priority=Priority.GREEN, priority_reason="pregnant")
    counter.issue("general")
    counter.next(1)
    counter.verb("park", 1, reason="copy_documents")
    counter.next(1)
    counter.verb("no_show", 1, reason="wrong_ticket")
    entries = counter.fairness()
    assert [e.kind for e in entries] == ["green_channel", "park", "no_show"]
    assert entries[1].prev_hash == entries[0].hash

    def check(s: Session) -> bool:
        return fairness.verify_chain(s).ok

    assert counter.db(check)


def test_the_bus_hears_every_transition_in_the_transaction_and_after_commit(
    counter: Hall,
) -> None:
    seen: list[tuple[str, str]] = []

    def listen(session: Session, ticket: Ticket, event: TicketEvent) -> None:
        seen.append((ticket.number, event.verb))

    counter.bus.on_transition(listen)
    counter.changes.clear()
    ticket = counter.issue("general", channel=Channel.MOBILE)
    counter.next(1)
    assert seen == [("A001", "issue"), ("A001", "call")]
    assert counter.changes[-1] == QueueChange(
        counter.day,
        frozenset({ticket.id}),
        frozenset({1}),
        frozenset({ticket.service_id}),
        calls=1,
    )

    def boom(session: Session, ticket: Ticket, event: TicketEvent) -> None:
        raise RuntimeError("outbox full")

    counter.bus.on_transition(boom)
    before = counter.snapshot()
    with pytest.raises(RuntimeError):
        counter.verb("recall", 1, now=counter.now + dt.timedelta(seconds=30))
    assert counter.snapshot() == before


def test_finishing_straight_from_called_keeps_the_implied_start_and_the_finish(
    counter: Hall,
) -> None:
    # A one-button caller never presses "start": its "next" finishes the
    # called ticket, served from its last call (the start and the finish
    # are written to the ticket's row in one statement).
    first = counter.issue("general")
    counter.issue("general")
    called = counter.next(1)
    assert called.ticket is not None
    assert called.ticket.id == first.id
    called_at = called.ticket.last_called_at
    assert called_at is not None
    later = called_at + dt.timedelta(minutes=4)
    counter.next(1, finish_current="completed", now=later)
    done = counter.ticket(first.id)
    assert (done.state, done.outcome) == ("done", "completed")
    assert (done.serving_at, done.ended_at) == (called_at, later)
    steps = [(e.verb, e.to_state, e.detail.get("implied")) for e in counter.events(first.id)]
    assert steps[-3:] == [("call", "called", None), ("start", "serving", True),
                          ("finish", "done", None)]  # fmt: skip


def test_a_held_write_lands_even_when_no_other_write_of_its_row_follows(counter: Hall) -> None:
    ticket = counter.issue("general")

    def work(tx: txn.Txn) -> None:
        row = tx.session.get(Ticket, ticket.id)
        assert row is not None
        tx.write(row, hold=True, priority_reason="held")

    with counter.sessions() as s:
        txn.run(s, work, bus=counter.bus, settings=counter.settings.queue, now=counter.tick())
    assert counter.ticket(ticket.id).priority_reason == "held"


def test_the_nightly_close_expires_what_is_left_with_its_reason(counter: Hall) -> None:
    waiting = counter.issue("general")
    counter.issue("general")
    counter.next(1)
    assert counter.close(reason="day_end") == 2
    assert counter.ticket(waiting.id).state == "expired"
    assert counter.events(waiting.id)[-1].reason == "day_end"
    state = counter.window_state(1)
    assert (state.status, state.clerk_id, state.current_ticket_id) == ("closed", None, None)
    assert counter.close() == 0
