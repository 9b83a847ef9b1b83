"""What the hall boards see: the latest calls, each window, each queue —
retained, right after each change, and at once after a board reboots."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from broker.contract import HallCalls, HallQueue, HallWindow, Payload, Topics, decode, new_id
from broker.session import MqttSession
from central.queueing.hallstate import (
    HallStatePublisher,
    calls_snapshot,
    queue_snapshots,
    window_snapshots,
)
from central.queueing.models import Priority
from tests.central.conftest import Hub, running_hub
from tests.central.fakes import eventually
from tests.conftest import RunningBroker
from tests.queueing.hall import MORNING, Hall


def _two_windows(hall: Hall) -> None:
    hall.service("general", "A", "综合受理", avg_handling_s=300)
    hall.service("estate", "B", "不动产登记")
    hall.window(1, {"general": 1.0})
    hall.window(2, {"general": 1.0, "estate": 1.0})
    hall.login(1, hall.clerk("wangfang", ["general"]))
    hall.login(2, hall.clerk("lijun", ["general", "estate"]))


def _windows_with_one_waiting_each(hall: Hall, n: int) -> list[int]:
    """Windows 1..n serving one service, each signed in, and n tickets
    waiting; the windows' ids."""
    hall.service("general", "A", "综合受理")
    ids = []
    for w in range(1, n + 1):
        ids.append(hall.window(w, {"general": 1.0}))
        hall.login(w, hall.clerk(f"clerk{w}", ["general"]))
    for _ in range(n):
        hall.issue("general")
    return ids


def test_board_lists_latest_calls_newest_first_without_personal_data(hall: Hall) -> None:
    _two_windows(hall)
    first = hall.issue("general", citizen_name="张小三", citizen_id="13812341234")
    second = hall.issue("general")
    hall.next(1)
    hall.next(2)
    hall.tick(30)
    hall.verb("recall", 1)

    board = hall.db(lambda s: calls_snapshot(s, day=hall.day))

    assert [(c.ticket, c.window, c.recall) for c in board.calls] == [
        (first.number, 1, True),
        (second.number, 2, False),
    ]
    assert board.calls[0].window_name == "1号窗口"
    assert board.calls[0].service == "综合受理"
    raw = board.model_dump_json()
    assert "张" not in raw
    assert "1234" not in raw


def test_window_shows_its_ticket_while_serving_and_its_pause(hall: Hall) -> None:
    _two_windows(hall)
    ticket = hall.issue("general")
    hall.next(1)
    hall.start(1)
    hall.verb("pause", 2, reason="break")

    windows = {w.window: w for w in hall.db(lambda s: window_snapshots(s))}

    assert windows[1].status == "open"
    assert (windows[1].ticket, windows[1].ticket_state) == (ticket.number, "serving")
    assert windows[2].status == "paused"
    assert windows[2].ticket is None


def test_queue_shows_waiting_count_and_an_estimate_only_where_a_window_is_open(hall: Hall) -> None:
    _two_windows(hall)
    hall.service("tax", "C", "税务")  # no window serves it
    for _ in range(4):
        hall.issue("general")
    hall.issue("estate", priority=Priority.GREEN, priority_reason="elderly")

    queues = {
        q.service: q for q in hall.db(lambda s: queue_snapshots(s, day=hall.day, now=hall.now))
    }

    assert queues["general"].waiting == 4
    assert queues["general"].open_windows == 2
    assert queues["general"].estimated_wait_min is not None
    assert queues["general"].estimated_wait_min > 0
    assert queues["estate"].waiting == 1
    assert queues["tax"].estimated_wait_min is None
    assert queues["tax"].open_windows == 0


# --- through a real hub and Mosquitto -------------------------------------------------------


class Board:
    """A hall board: subscribes to hall/# and keeps the latest payload per topic."""

    def __init__(self, broker: RunningBroker) -> None:
        self.topics = Topics(broker.hall)
        self.latest: dict[str, Payload] = {}
        self.arrivals: asyncio.Queue[tuple[float, str, Payload]] = asyncio.Queue()
        self.session = MqttSession(
            client_id=f"board-{new_id()[:6]}",
            address=broker.address("display-01"),
            subscriptions=[(f"{self.topics.root}/hall/#", 1)],
            on_message=self._on_message,
        )

    def _on_message(self, topic: str, raw: bytes, retained: bool) -> None:
        payload = decode(self.topics, topic, raw, retained=retained).payload
        self.latest[topic] = payload
        self.arrivals.put_nowait((time.perf_counter(), topic, payload))

    async def wait_for(self, topic: str, check: Any, within_s: float = 5.0) -> Payload:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            payload = self.latest.get(topic)
            if payload is not None and check(payload):
                return payload
            await asyncio.sleep(0.01)
        raise AssertionError(f"{topic}: not as expected; last {self.latest.get(topic)!r}")


@asynccontextmanager
async def _board(broker: RunningBroker) -> AsyncIterator[Board]:
    board = Board(broker)
    await board.session.start()
    await board.session.wait_connected(5)
    try:
        yield board
    finally:
        await board.session.stop()


@asynccontextmanager
async def _hub_hall(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Hub, Hall]]:
    # The hall's clock is a fixed morning from the start; the publisher's "today" follows it.
    async with running_hub(
        database_url=database_url, tmp_path=tmp_path, broker=mosquitto, clock_start=MORNING
    ) as hub:
        state = hub.state
        yield hub, Hall(hub.settings, state.engine, state.sessions, bus=state.queue_bus)


async def test_board_receives_the_call_right_after_next(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _hub_hall(mosquitto, database_url, tmp_path, monkeypatch) as (_hub, hall):
        await asyncio.to_thread(_two_windows, hall)
        ticket = await asyncio.to_thread(hall.issue, "general")
        async with _board(mosquitto) as board:
            await asyncio.to_thread(hall.next, 1)
            calls = await board.wait_for(
                board.topics.hall_calls(),
                lambda p: (
                    isinstance(p, HallCalls) and p.calls and p.calls[0].ticket == ticket.number
                ),
            )
            window = await board.wait_for(
                board.topics.hall_window(1),
                lambda p: isinstance(p, HallWindow) and p.ticket == ticket.number,
            )
            queue = await board.wait_for(
                board.topics.hall_queue("general"), lambda p: isinstance(p, HallQueue)
            )
        assert isinstance(calls, HallCalls)
        assert calls.calls[0].window == 1
        assert isinstance(window, HallWindow)
        assert window.ticket_state == "called"
        assert isinstance(queue, HallQueue)
        assert queue.waiting == 0


async def test_rebooted_board_shows_the_current_state_at_once(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _hub_hall(mosquitto, database_url, tmp_path, monkeypatch) as (_hub, hall):
        await asyncio.to_thread(_two_windows, hall)
        ticket = await asyncio.to_thread(hall.issue, "general")
        await asyncio.to_thread(hall.next, 2)
        await asyncio.sleep(0.3)  # published while no board was listening
        async with _board(mosquitto) as board:
            await board.wait_for(
                board.topics.hall_window(2),
                lambda p: getattr(p, "ticket", None) == ticket.number,
                2,
            )
            await board.wait_for(board.topics.hall_window(1), lambda p: p.status == "open", 2)


async def test_hub_start_publishes_the_full_state_for_a_fresh_broker(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Calls made while no hub was running (e.g. before a broker restart lost its retained state).
    from tests.queueing.hall import make_hall

    with make_hall(database_url, tmp_path) as offline:
        _two_windows(offline)
        ticket = offline.issue("general")
        offline.next(1)
    async with (
        _hub_hall(mosquitto, database_url, tmp_path, monkeypatch),
        _board(mosquitto) as board,
    ):
        await board.wait_for(
            board.topics.hall_calls(),
            lambda p: isinstance(p, HallCalls) and [c.ticket for c in p.calls] == [ticket.number],
        )


async def test_many_windows_pressing_at_once_all_reach_the_board(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 20
    async with _hub_hall(mosquitto, database_url, tmp_path, monkeypatch) as (_hub, hall):
        await asyncio.to_thread(_windows_with_one_waiting_each, hall, n)
        async with _board(mosquitto) as board:
            await asyncio.sleep(0.2)
            started = time.perf_counter()
            await asyncio.gather(*(asyncio.to_thread(hall.next, w) for w in range(1, n + 1)))
            for w in range(1, n + 1):
                await board.wait_for(board.topics.hall_window(w), lambda p: p.ticket is not None)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(0.3)  # the last round's calls list
            calls = board.latest[board.topics.hall_calls()]
            lists: list[HallCalls] = []
            while not board.arrivals.empty():
                _at, topic, payload = board.arrivals.get_nowait()
                if topic == board.topics.hall_calls() and isinstance(payload, HallCalls):
                    lists.append(payload)
        assert isinstance(calls, HallCalls)
        assert len(calls.calls) >= 10
        # Every call was in some list a board received, however the rounds
        # coalesced: one pushed off the ten before any board saw it would never
        # be shown or announced on a hall board.
        listed = {(c.ticket, c.window) for lst in lists for c in lst.calls}
        assert {w for _t, w in listed} == set(range(1, n + 1))
        print(f"{n} windows: all on the board {elapsed * 1000:.0f} ms after the first press; "
              f"{len(lists)} call lists")  # fmt: skip


async def test_presses_answered_in_one_turn_of_the_loop_share_one_round(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTTP API runs verbs on the hub's event loop. Presses whose
    requests the loop takes in one turn (a burst) are published by one round
    after them: one call list holding them all, not one list per press."""
    n = 3
    async with _hub_hall(mosquitto, database_url, tmp_path, monkeypatch) as (_hub, hall):
        await asyncio.to_thread(_windows_with_one_waiting_each, hall, n)
        async with _board(mosquitto) as board:
            await asyncio.sleep(0.3)
            while not board.arrivals.empty():
                board.arrivals.get_nowait()
            for w in range(1, n + 1):  # on the loop's own thread, in one turn
                hall.next(w)
            await board.wait_for(
                board.topics.hall_calls(), lambda p: isinstance(p, HallCalls) and len(p.calls) == n
            )
            for w in range(1, n + 1):
                await board.wait_for(board.topics.hall_window(w), lambda p: p.ticket is not None)
            await asyncio.sleep(0.3)  # a second round, if any, would have published by now
            lists = []
            while not board.arrivals.empty():
                _at, topic, payload = board.arrivals.get_nowait()
                if topic == board.topics.hall_calls():
                    lists.append(payload)
        assert len(lists) == 1
        assert isinstance(lists[0], HallCalls)
        assert {c.window for c in lists[0].calls} == set(range(1, n + 1))


async def test_a_round_that_takes_more_calls_than_the_list_holds_lists_them_all(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve calls commit while a publishing round is busy (the verbs leave
    their marks to it and return); its next round takes all twelve at once. A
    list of the usual ten would push two off before any board saw them: never
    shown, never announced."""
    n = 12
    async with _hub_hall(mosquitto, database_url, tmp_path, monkeypatch) as (hub, hall):
        owners = [
            getattr(listener, "__self__", None) for listener in hub.state.queue_bus.after_commit
        ]
        publisher = next(o for o in owners if isinstance(o, HallStatePublisher))
        window_id = (await asyncio.to_thread(_windows_with_one_waiting_each, hall, n))[0]
        async with _board(mosquitto) as board:
            await asyncio.sleep(0.3)
            while not board.arrivals.empty():
                board.arrivals.get_nowait()
            # A round in progress: its reads wait until the twelve have committed.
            gate = threading.Event()
            read = publisher._read

            def slow_read(*args: Any) -> Any:
                gate.wait(10)
                monkeypatch.setattr(publisher, "_read", read)
                return read(*args)

            monkeypatch.setattr(publisher, "_read", slow_read)
            with publisher._lock:
                publisher._windows.add(window_id)
            busy = threading.Thread(target=publisher._round)
            busy.start()
            await eventually(publisher._rounds_lock.locked, what="a round in progress")
            presses = [threading.Thread(target=hall.next, args=(w,)) for w in range(1, n + 1)]
            try:
                for t in presses:
                    t.start()
                for t in presses:  # each returns without waiting for the round
                    await asyncio.to_thread(t.join, 10)
                assert not any(t.is_alive() for t in presses)
                # All committed, none published yet.
                assert publisher._calls == n
            finally:
                gate.set()
            await asyncio.to_thread(busy.join, 10)
            await board.wait_for(
                board.topics.hall_calls(), lambda p: isinstance(p, HallCalls) and len(p.calls) == n
            )
            listed = set()
            while not board.arrivals.empty():
                _at, topic, payload = board.arrivals.get_nowait()
                if topic == board.topics.hall_calls() and isinstance(payload, HallCalls):
                    listed |= {c.window for c in payload.calls}
        assert listed == set(range(1, n + 1))


async def test_the_board_catches_up_after_the_publishers_connection_is_lost(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The publisher keeps one database connection between rounds. When it
    breaks (a database server restarted), the round that finds it broken
    fails; the retry connects afresh and the board still gets the call."""
    async with _hub_hall(mosquitto, database_url, tmp_path, monkeypatch) as (hub, hall):
        owners = [
            getattr(listener, "__self__", None) for listener in hub.state.queue_bus.after_commit
        ]
        publisher = next(o for o in owners if isinstance(o, HallStatePublisher))
        await asyncio.to_thread(_two_windows, hall)
        first = await asyncio.to_thread(hall.issue, "general")
        second = await asyncio.to_thread(hall.issue, "general")
        async with _board(mosquitto) as board:
            await asyncio.to_thread(hall.next, 1)
            await board.wait_for(
                board.topics.hall_window(1), lambda p: getattr(p, "ticket", None) == first.number
            )
            reader = publisher._reader
            assert reader is not None
            assert not reader.closed
            dbapi = reader.connection.dbapi_connection
            assert dbapi is not None
            dbapi.close()  # the server went away

            await asyncio.to_thread(hall.next, 2)
            window = await board.wait_for(
                board.topics.hall_window(2), lambda p: getattr(p, "ticket", None) == second.number
            )
            calls = await board.wait_for(
                board.topics.hall_calls(),
                lambda p: isinstance(p, HallCalls) and p.calls[0].ticket == second.number,
            )
        assert isinstance(window, HallWindow)
        assert window.ticket_state == "called"
        assert isinstance(calls, HallCalls)
        assert calls.calls[1].ticket == first.number
        assert publisher._reader is not reader


async def test_the_waiting_count_follows_tickets_issued_while_no_window_calls(
    mosquitto: RunningBroker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the windows start calling (the morning rush at the kiosks), the
    board's waiting count must still rise with every ticket issued."""
    async with _hub_hall(mosquitto, database_url, tmp_path, monkeypatch) as (_hub, hall):
        await asyncio.to_thread(_two_windows, hall)
        async with _board(mosquitto) as board:
            topic = board.topics.hall_queue("general")
            # The windows' sign-ins published the empty queue; then all is quiet
            # for longer than the estimates' throttle.
            await board.wait_for(topic, lambda p: isinstance(p, HallQueue) and p.waiting == 0)
            await asyncio.sleep(1.0)
            for _ in range(3):
                await asyncio.to_thread(hall.issue, "general")
            queue = await board.wait_for(
                topic, lambda p: isinstance(p, HallQueue) and p.waiting == 3, within_s=3
            )
        assert isinstance(queue, HallQueue)
        assert queue.estimated_wait_min is not None
