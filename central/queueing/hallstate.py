"""What the hall boards show, published retained after every queue change.

Snapshots come from the database alone (several hub workers may change the
queue; each publishes what the database says after its commit):

- ``hall/calls``: the day's latest calls, newest first (`HallCalls`);
- ``hall/window/{n}``: each window's status and current ticket (`HallWindow`);
- ``hall/queue/{code}``: each service's waiting count and estimated wait (`HallQueue`).

Speed matters: a citizen looks up when the voice calls, so "next" → board is
measured (p50 ≤ 5 ms). The after-commit listener marks what changed and runs
a publishing round right there, where the verb ran (the worker's event loop,
see `txn`, "Where a verb runs"; paho writes from any thread): it reads the
changed windows and the calls list and publishes them. Rounds run one at a
time and each takes every mark so far, so the last retained message is
always the newest state; a verb on another thread that finds a round running
leaves its marks to it instead of waiting (its answer would wait for another
verb's reads). Full republishing and retries after a failed
round run on a task of the event loop. Queue estimates are not urgent:
a second task recomputes all services at most every ``queue_interval_s`` and
publishes only those that changed. On every (re)connection of the hub the
full state is published again, because a broker without persistence forgets
retained messages and a rebooted board must show the state at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from broker.contract import (
    BoardCall,
    HallCalls,
    HallQueue,
    HallWindow,
    Payload,
    Topics,
    WindowPhase,
    encode,
    utcnow,
)
from central.db import for_reads
from central.direct import Direct
from central.queueing.estimator import estimate_new_ticket, service_loads
from central.queueing.events import QueueChange
from central.queueing.models import (
    Service,
    ServiceArea,
    Ticket,
    TicketState,
    Window,
    WindowState,
)

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], bool]
"""Send one retained message; False when the hub is not connected."""

CALLS_SHOWN: Final = 10
_PHASES: Final = frozenset(p.value for p in WindowPhase)
_BOARD_STATES: Final = {TicketState.CALLED.value: "called", TicketState.SERVING.value: "serving"}


# --- snapshots (pure reads) ---------------------------------------------------------


# Statements built once: building a Select costs more Python than running it,
# and these run after every press.
_CALLS = Direct(
    select(Ticket.number, Ticket.last_called_at, Ticket.recalls, Window.number, Window.name,
           Service.name, ServiceArea.code, ServiceArea.silent_calling)
    .join(Window, Window.id == Ticket.window_id)
    .join(ServiceArea, ServiceArea.id == Window.area_id)
    .join(Service, Service.id == Ticket.service_id)
    .where(Ticket.day == bindparam("day"), Ticket.last_called_at.is_not(None))
    .order_by(Ticket.last_called_at.desc(), Ticket.id.desc())
    .limit(bindparam("limit"))
)  # fmt: skip
_WINDOWS = (
    select(Window.number, Window.name, Window.active, WindowState.status, Ticket.number,
           Ticket.state, Ticket.last_called_at, Service.name)
    .outerjoin(WindowState, WindowState.window_id == Window.id)
    .outerjoin(Ticket, Ticket.id == WindowState.current_ticket_id)
    .outerjoin(Service, Service.id == Ticket.service_id)
    .order_by(Window.number)
)  # fmt: skip
_ACTIVE_WINDOWS = Direct(_WINDOWS.where(Window.active.is_(True)))
_SOME_WINDOWS = _WINDOWS.where(Window.id.in_(bindparam("ids", expanding=True)))
# A press changes one window: a plain parameter, not an expanding IN, whose
# SQL is re-rendered at every execution. These and the call list run on the
# driver's cursor (`central.direct`).
_ONE_WINDOW = Direct(_WINDOWS.where(Window.id == bindparam("id")))


def _connection(db: Session | Connection) -> Connection:
    return db.connection() if isinstance(db, Session) else db


def calls_snapshot(
    db: Session | Connection, *, day: dt.date, limit: int = CALLS_SHOWN
) -> HallCalls:
    rows = _CALLS.rows(_connection(db), {"day": day, "limit": limit})
    calls = tuple(
        BoardCall(
            ticket=number,
            window=w_number,
            window_name=w_name,
            service=s_name,
            called_at=called_at,
            recall=recalls > 0,
            area=area,
            voice=not silent,
        )
        for number, called_at, recalls, w_number, w_name, s_name, area, silent in rows
        if called_at is not None
    )
    return HallCalls(calls=calls)


def window_snapshots(
    db: Session | Connection, *, window_ids: Iterable[int] | None = None
) -> list[HallWindow]:
    ids = None if window_ids is None else list(window_ids)
    rows: Iterable[Sequence[Any]]
    if ids is None:
        rows = _ACTIVE_WINDOWS.rows(_connection(db))
    elif len(ids) == 1:
        rows = _ONE_WINDOW.rows(_connection(db), {"id": ids[0]})
    else:
        rows = db.execute(_SOME_WINDOWS, {"ids": ids})
    out = []
    for number, name, active, status, t_number, t_state, called_at, s_name in rows:
        phase = WindowPhase(status) if active and status in _PHASES else WindowPhase.CLOSED
        board_state = _BOARD_STATES.get(t_state or "")
        shown = board_state is not None and phase != WindowPhase.CLOSED
        out.append(
            HallWindow(
                window=number,
                name=name,
                status=phase,
                ticket=t_number if shown else None,
                ticket_state=board_state if shown else None,
                service=s_name if shown else None,
                called_at=called_at if shown else None,
            )
        )
    return out


_SERVICES_SHOWN = Direct(
    select(Service.id, Service.code, Service.name, Service.prefix).where(Service.active.is_(True))
)


def queue_snapshots(session: Session, *, day: dt.date, now: dt.datetime) -> list[HallQueue]:
    services = _SERVICES_SHOWN.rows(session.connection())
    loads = service_loads(session, day=day, now=now)
    out = []
    for sid, code, name, prefix in services:
        load = loads.get(sid)
        if load is None:
            continue
        minutes = estimate_new_ticket(load)
        out.append(
            HallQueue(
                service=code,
                name=name,
                prefix=prefix,
                waiting=load.waiting,
                open_windows=len(load.windows),
                estimated_wait_min=None if minutes is None else round(minutes),
            )
        )
    return out


# --- the publisher ----------------------------------------------------------------------


RETRY_S = 1.0  # after a failed publishing round


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running on this thread, if any (a verb's thread has none)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class HallStatePublisher:
    """Keeps the retained hall topics in step with the database."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        topics: Topics,
        publish: Publish,
        today: Callable[[], dt.date],
        calls_shown: int = CALLS_SHOWN,
        queue_interval_s: float = 0.5,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._topics = topics
        self._publish = publish
        self._today = today
        self._calls_shown = calls_shown
        self._queue_interval_s = queue_interval_s
        self._lock = threading.Lock()  # listeners run on verb threads
        self._windows: set[int] = set()
        # Calls since the last round: a round that takes many (a burst) lists
        # them all, or a call pushed off the usual list before any board saw
        # it would never be shown or announced.
        self._calls = 0
        self._full = False
        self._day: dt.date | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._round_due = False  # a round is scheduled on the loop (its thread only)
        self._wake = asyncio.Event()
        self._rounds_lock = threading.Lock()  # one publishing round at a time
        # The rounds' own connection, held between rounds (under the rounds
        # lock): a session and a pool checkout per round cost more than its
        # two reads (and, on PostgreSQL, a ping of the server).
        self._reader: Connection | None = None
        self._queues_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_queue: dict[str, dict[str, object]] = {}

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._fast_loop(), name="hallstate-fast"),
            asyncio.create_task(self._queue_loop(), name="hallstate-queues"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        with self._rounds_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    # --- listeners (any thread) ---------------------------------------------------

    def on_commit(self, change: QueueChange) -> None:
        """After-commit listener, on the verb's thread: publish now (on the
        event loop: at its next turn, below).

        Publishing from the thread that committed saves two hops (to the
        event loop and to a reader thread) on the path from a press to the
        board. Rounds run one at a time and each reads after the commits of
        the marks it takes, so the last retained message of a topic is
        always the newest state; a round takes every change marked so far,
        so a burst coalesces (`_round`).

        A verb on the event loop (the HTTP API's) leaves its round to the
        loop's next turn instead: its answer goes out first, and the verbs of
        the other requests already waiting on the loop (a burst of presses)
        run before it, so one round reads and publishes for all of them.
        """
        with self._lock:
            self._windows |= change.window_ids
            self._calls += change.calls
            self._day = change.day
        if self._loop is None:
            return  # not started: `publish_everything` on connection catches up
        if not (change.window_ids or change.calls):
            # A ticket issued (or cancelled) changes only its queue's count:
            # no round to run, and none to wake the estimates after it.
            self._set_soon(self._queues_wake)
            return
        if _running_loop() is self._loop:
            if not self._round_due:
                self._round_due = True
                self._loop.call_soon(self._due_round)
            return
        self._round()

    def _due_round(self) -> None:
        self._round_due = False
        if self._tasks:  # not stopped meanwhile (the hub shutting down)
            self._round()

    def publish_everything(self) -> None:
        """Republish every topic (on hub connection; after a hall configuration change)."""
        with self._lock:
            self._full = True
        self._wake_up()

    def _wake_up(self) -> None:
        self._set_soon(self._wake)

    def _set_soon(self, event: asyncio.Event) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(event.set)

    def _retry_soon(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.call_later, RETRY_S, self._wake.set)

    def _round(self) -> None:
        """Publish what is marked (any thread), without waiting for another round.

        Rounds run one at a time. A thread that finds one running leaves its
        marks to it and returns at once: its verb's answer need not wait for
        another verb's reads. The thread running rounds repeats until nothing
        is marked, and looks again after releasing the lock, so a mark made
        while it was releasing is not left behind.
        """
        while self._rounds_lock.acquire(blocking=False):
            try:
                ok = self._one_round()
            finally:
                self._rounds_lock.release()
            with self._lock:
                marked = bool(self._windows or self._calls or self._full)
            if not ok or not marked:
                return

    def _one_round(self) -> bool:
        """One round over everything marked so far (the rounds lock is held);
        False when it failed and a retry is scheduled."""
        with self._lock:
            windows, calls, full, day = self._windows, self._calls, self._full, self._day
            self._windows, self._calls, self._full = set(), 0, False
        if not (windows or calls or full):
            return True
        try:
            day = self._today() if full or day is None else day
            for topic, payload in self._read(day, windows, calls, full):
                self._publish(topic, encode(payload))
        except Exception:
            log.exception("hall state publishing failed; retrying everything")
            self._drop_reader()
            with self._lock:
                self._full = True
                self._calls += calls  # the retry lists them too
            self._retry_soon()
            return False
        if full:
            self._last_queue.clear()
        self._set_soon(self._queues_wake)
        return True

    # --- the tasks --------------------------------------------------------------------

    async def _fast_loop(self) -> None:
        """Full republishing (on connection) and retries after a failed round."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.to_thread(self._round)

    def _read(
        self, day: dt.date, windows: set[int], calls: int, full: bool
    ) -> Iterator[tuple[str, Payload]]:
        """The round's topics as they are read: the windows go out before the
        call list is read (the window's own board and its caller wait on them).
        Plain reads of columns on a Core connection: the ORM's execution layer
        cost a third of each read."""
        db = self._reader_connection()
        try:
            if full or windows:
                for w in window_snapshots(db, window_ids=None if full else windows):
                    yield self._topics.hall_window(w.window), w
            if full or calls:
                limit = max(self._calls_shown, calls)
                yield self._topics.hall_calls(), calls_snapshot(db, day=day, limit=limit)
        finally:
            # End the read transaction at once: a snapshot held between rounds
            # would show old state and, on SQLite, hold back WAL checkpoints.
            if db.in_transaction():
                db.rollback()

    def _reader_connection(self) -> Connection:
        if self._reader is None or self._reader.closed or self._reader.invalidated:
            with self._sessions() as session:
                bind = session.get_bind()
            assert isinstance(bind, Engine)
            self._reader = for_reads(bind).connect()
        return self._reader

    def _drop_reader(self) -> None:
        """After a failed round: the next one connects afresh (a restarted server)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            with contextlib.suppress(Exception):
                reader.invalidate()
                reader.close()

    async def _queue_loop(self) -> None:
        while True:
            await self._queues_wake.wait()
            self._queues_wake.clear()
            try:
                day = self._day or self._today()
                queues = await asyncio.to_thread(self._read_queues, day)
                for q in queues:
                    self._publish_queue(q)
            except Exception:
                log.exception("queue estimates failed")
            # Throttle: changes during the pause are caught by the next round.
            await asyncio.sleep(self._queue_interval_s)

    def _read_queues(self, day: dt.date) -> list[HallQueue]:
        with self._sessions() as session:
            return queue_snapshots(session, day=day, now=self._clock())

    def _publish_queue(self, q: HallQueue) -> None:
        try:
            topic = self._topics.hall_queue(q.service)
        except ValueError:
            log.warning("service code %r cannot be a topic; its board is not updated", q.service)
            return
        content = q.model_dump(exclude={"ts"})
        if self._last_queue.get(topic) == content:
            return
        if self._publish(topic, encode(q)):
            self._last_queue[topic] = content
