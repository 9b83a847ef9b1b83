"""好差评 as the hall lives it: a citizen rates the service once after it
finished; a 差评 says why; nobody rates a ticket not served or someone
else's ticket."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from central.queueing.models import Channel, Ticket
from central.ratings import codes
from central.ratings.models import Rating
from central.ratings.service import (
    RATE_WITHIN,
    AlreadyRated,
    BadRating,
    NothingToRate,
    RatingRefused,
    last_finished,
    rate_ticket,
    rate_window,
)
from tests.queueing.hall import Hall, make_hall


@pytest.fixture
def counter(database_url: str, tmp_path: Path) -> Iterator[Hall]:
    """Service 综合受理 (A) at window 1 with clerk 王芳 signed in, at 10:00."""
    with make_hall(database_url, tmp_path) as hall:
        hall.service("general", "A", "综合受理")
        hall.window(1, {"general": 1.0})
        hall.window(2, {"general": 1.0})
        hall.login(1, hall.clerk("wangfang", ["general"]))
        yield hall


def serve(hall: Hall, window: int = 1) -> Ticket:
    """A citizen takes a ticket and is served to the end at `window`."""
    hall.issue("general", channel=Channel.KIOSK)
    called = hall.next(window).ticket
    assert called is not None
    hall.start(window)
    hall.finish(window)
    return called


def pad(hall: Hall, level: int, reasons: list[str] | None = None, **kw: object) -> Rating:
    with hall.sessions() as s:
        return rate_window(
            s, window=kw.pop("window", 1), level=level, reasons=reasons or [],  # type: ignore[arg-type]
            channel=kw.pop("channel", codes.RatingChannel.WINDOW_PAD), now=hall.tick(),  # type: ignore[arg-type]
            settings=hall.settings, **kw,  # type: ignore[arg-type]
        )  # fmt: skip


def ratings(hall: Hall) -> list[Rating]:
    return hall.db(lambda s: list(s.scalars(select(Rating).order_by(Rating.id))))


def test_a_finished_ticket_is_rated_once_and_a_second_rating_is_refused(counter: Hall) -> None:
    ticket = serve(counter)
    rating = pad(counter, 5)
    assert rating.ticket_number == ticket.number

    with pytest.raises(AlreadyRated) as second:
        pad(counter, 1, ["attitude"])
    assert second.value.message == "该号码已评价，每个号码只能评价一次"
    with counter.sessions() as s, pytest.raises(AlreadyRated):
        rate_ticket(s, ticket_id=ticket.id, level=4, channel="mobile", now=counter.tick())

    (stored,) = ratings(counter)
    done = counter.ticket(ticket.id)
    assert (stored.level, stored.channel, stored.reasons) == (5, "window_pad", [])
    assert (stored.ticket_id, stored.service_id, stored.window_id, stored.clerk_id) == (
        done.id, done.service_id, done.window_id, done.clerk_id,
    )  # fmt: skip
    assert stored.day == counter.day
    assert stored.rated_at > done.ended_at  # type: ignore[operator]


def test_a_bad_rating_needs_a_reason_from_the_list(counter: Hall) -> None:
    serve(counter)
    with pytest.raises(BadRating, match="“不满意”请至少选择一项原因"):
        pad(counter, 2)
    with pytest.raises(BadRating, match="未知的不满意原因 rude，可选：attitude（服务态度差）"):
        pad(counter, 1, ["rude"])
    with pytest.raises(BadRating, match="评价等级应为 1 至 5"):
        pad(counter, 6)
    # The button pad's code is only for the button pad.
    with pytest.raises(BadRating, match="未知的不满意原因 unspecified_pad"):
        pad(counter, 1, [codes.UNSPECIFIED_PAD])
    assert ratings(counter) == []

    pad(counter, 1, ["slow", "many_trips", "slow"])
    (stored,) = ratings(counter)
    assert stored.reasons == ["slow", "many_trips"]


def test_a_good_rating_keeps_no_reasons_and_a_comment_is_trimmed(counter: Hall) -> None:
    serve(counter)
    pad(counter, 4, ["attitude"], comment="  很好 " + "好" * 300)
    (stored,) = ratings(counter)
    assert stored.reasons == []
    assert stored.comment is not None
    assert stored.comment.startswith("很好")
    assert len(stored.comment) == 200


def test_a_ticket_not_yet_finished_cannot_be_rated(counter: Hall) -> None:
    counter.issue("general")
    called = counter.next(1).ticket
    assert called is not None
    with counter.sessions() as s, pytest.raises(RatingRefused) as refused:
        rate_ticket(s, ticket_id=called.id, level=5, channel="mobile", now=counter.tick())
    assert refused.value.message == f"号码 {called.number} 尚未办结，办结后才能评价"
    counter.start(1)
    with counter.sessions() as s, pytest.raises(RatingRefused, match="尚未办结"):
        rate_ticket(s, ticket_id=called.id, level=5, channel="mobile", now=counter.tick())
    # The window's pad has nothing to offer either: nothing finished yet.
    with pytest.raises(NothingToRate, match="1 号窗口当前没有待评价的办件"):
        pad(counter, 5)
    assert ratings(counter) == []


def test_a_window_pad_rates_only_its_last_finished_ticket_for_ten_minutes(counter: Hall) -> None:
    first = serve(counter)
    # Window 2 finished nothing: its pad cannot rate window 1's citizen.
    counter.login(2, counter.clerk("lijun", ["general"]))
    with pytest.raises(NothingToRate, match="2 号窗口当前没有待评价的办件"):
        pad(counter, 5, window=2)

    # The next citizen is served before the first one rated: the first's
    # screen (showing the first ticket) is stale, and says so.
    second = serve(counter)
    with pytest.raises(NothingToRate, match="该评价页面已过期"):
        pad(counter, 5, ticket_id=first.id)
    assert pad(counter, 3, ticket_id=second.id).ticket_id == second.id

    third = serve(counter)
    counter.tick(RATE_WITHIN.total_seconds() + 1)
    with counter.sessions() as s:
        assert last_finished(s, window=1, now=counter.now, settings=counter.settings).ticket is None
    with pytest.raises(NothingToRate):
        pad(counter, 5, ticket_id=third.id)
    assert [r.ticket_id for r in ratings(counter)] == [second.id]


def test_a_no_show_after_a_finish_ends_the_offer(counter: Hall) -> None:
    serve(counter)
    counter.issue("general")
    counter.next(1)
    counter.verb("no_show", 1, reason="citizen_left")
    with pytest.raises(NothingToRate):
        pad(counter, 5)


def test_two_screens_rating_at_the_same_instant_store_one_rating(counter: Hall) -> None:
    ticket = serve(counter)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def tap(level: int) -> None:
        barrier.wait()
        try:
            with counter.sessions() as s:
                rate_ticket(s, ticket_id=ticket.id, level=level, channel="caller",
                            reasons=[codes.UNSPECIFIED_PAD], now=counter.now)  # fmt: skip
            results.append("stored")
        except AlreadyRated:
            results.append("refused")

    threads = [threading.Thread(target=tap, args=(level,)) for level in (1, 3, 4, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["refused", "refused", "refused", "stored"]
    assert len(ratings(counter)) == 1


def test_the_matter_of_a_kiosk_ticket_is_kept_with_its_rating(counter: Hall) -> None:
    from central.queueing.models import KioskRequest

    ticket = serve(counter)
    counter.db(
        lambda s: s.add(
            KioskRequest(
                device_id="kiosk-01", request_id="r1", received_at=counter.now, outcome="issued",
                ticket_id=ticket.id, matter="610100-营业执照变更",
            )
        )
    )  # fmt: skip
    pad(counter, 5)
    assert ratings(counter)[0].matter == "610100-营业执照变更"


def test_every_level_and_reason_has_a_chinese_label() -> None:
    assert list(codes.LEVELS.values()) == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert set(codes.RATING_BUTTONS) == {"rate_1", "rate_2", "rate_3", "rate_4", "rate_5"}
    assert sorted(codes.NEEDS_REASON) == [1, 2]
    assert all(codes.REASON_LABELS.values())
    assert dt.timedelta(minutes=10) == RATE_WITHIN
