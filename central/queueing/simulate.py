"""`anxin simulate day`: a whole operating day played through a real hub.

Visitors come from `simmodel.plan_day`; the hall is the database's (seeded by
`simhall`). Every ticket and window action is an HTTP request to a real hub
(`simhub.SimHub`: `run_hub` with the embedded broker, in this process):
tickets are issued through the staff API (``POST /api/v1/queue/tickets``, the
kiosk's stand-in) and windows act through ``/api/v1/queue/windows/{n}/…``,
signed in as a hall manager acting for each window's clerk. Events are
processed in simulated-time order; before each one the hub's clock is held at
the event's time (`HubClock.hold`), so the day runs as fast as the hub
answers (``speed=0``) or paced against the wall clock, and the same seed plays
the same day. The hub publishes the retained hall topics as in a real hall;
the board listener counts them.

Windows behave as clerks do: sign in at 09:00, call when free, wait for the
citizen to walk up (or recall up to ``max_recalls`` times 30 s apart and mark
the no-show), serve, finish with an outcome code or transfer, call again;
keep calling after 12:00 until their queue is empty or 12:30, pause for
lunch, resume at 13:00; after 17:00 they sign out once nobody is waiting for
them, and at 18:00 the nightly close ends what is left.

An idle window is woken when a ticket of one of its services is issued (one
window per ticket, a few seconds later), so there is no polling.

The estimator is measured on the way: each ticket's estimated wait as the
issue response gives it (what the ticket prints and the citizen page shows)
against its real wait until first call (`WaitErrorMeter`).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.queueing.estimator import WaitErrorMeter
from central.queueing.models import Ticket, TicketState
from central.queueing.simhall import SimHall, SimWindowSpec
from central.queueing.simhub import HallClient, Refused, SimHub
from central.queueing.simmodel import Visit, follow_up_visit

log = logging.getLogger(__name__)

RECALL_GAP_S: Final = 30.0
LUNCH: Final = dt.time(12, 0)
LUNCH_LAST_CALL: Final = dt.time(12, 30)
AFTERNOON: Final = dt.time(13, 0)
LAST_ARRIVAL: Final = dt.time(17, 0)
END: Final = dt.time(18, 0)

Progress = Callable[[str], None]
Answer = dict[str, Any]

# Window verbs: path under /api/v1/queue/windows/{n}/
_PATHS: Final = {"call_next": "next", "no_show": "no-show"}


@dataclass
class SimWindow:
    spec: SimWindowSpec
    status: str = "off"  # off | idle | waking | busy | paused
    ticket_id: int | None = None
    visit: Visit | None = None
    recalls: int = 0
    action: str = ""
    version: int = 0  # events of an older version are stale


@dataclass
class DayStats:
    issued: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    verbs: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0

    @property
    def operations(self) -> int:
        return sum(self.verbs.values())


class DaySimulation:
    """One day, played event by event in simulated time."""

    def __init__(
        self,
        *,
        hub: SimHub,
        client: HallClient,
        settings: Settings,
        hall: SimHall,
        visits: list[Visit],
        scale: float,
        day: dt.date,
        speed: float,
        seed: int,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        start_at: dt.datetime | None = None,
        until: dt.time | None = None,
    ) -> None:
        """`until`: stop at this local time, leaving the day as it is (no close)."""
        self.until = until
        self.hub = hub
        self.client = client
        self.settings = settings
        self.hall = hall
        self.visits = visits
        self.scale = scale
        self.day = day
        self.speed = speed
        self.progress = progress
        self.stop = stop or threading.Event()
        self.zone = ZoneInfo(settings.queue.timezone)
        self.rng = random.Random(seed + 1)
        self.windows = {w.number: SimWindow(w) for w in hall.windows}
        self.meter = WaitErrorMeter()
        self.stats = DayStats()
        self.plans: dict[int, Visit] = {}
        self.issued_at: dict[int, dt.datetime] = {}
        self.waits_min: list[float] = []
        self._heap: list[tuple[dt.datetime, int, str, Any]] = []
        self._seq = itertools.count()
        self.start_at = start_at or self.at(dt.time(8, 55))
        self.now = self.start_at

    # --- time ----------------------------------------------------------------------

    def at(self, t: dt.time) -> dt.datetime:
        return dt.datetime.combine(self.day, t, self.zone).astimezone(dt.UTC)

    def local(self) -> dt.time:
        return self.now.astimezone(self.zone).time()

    def push(self, at: dt.datetime, kind: str, arg: Any = None) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), kind, arg))

    def schedule(self, w: SimWindow, action: str, after_s: float) -> None:
        w.version += 1
        w.action = action
        self.push(self.now + dt.timedelta(seconds=after_s), "window", (w.spec.number, w.version))

    def _pace(self, wall0: float, at: dt.datetime) -> None:
        """Sleep until the wall clock catches up with simulated time `at`."""
        if self.speed <= 0:
            return
        due = wall0 + (at - self.start_at).total_seconds() / self.speed
        while not self.stop.is_set() and (left := due - time.monotonic()) > 0:
            self.stop.wait(min(left, 0.5))

    # --- the loop --------------------------------------------------------------------

    def run(self) -> DayStats:
        for v in self.visits:
            if v.arrive_at >= self.start_at:
                self.push(v.arrive_at, "arrive", v)
        self.push(max(self.start_at, self.at(dt.time(9, 0))), "sign_in")
        end = min(self.until or END, END)
        for t, kind in ((LUNCH, "lunch"), (AFTERNOON, "afternoon"), (end, "end")):
            if self.at(t) >= self.start_at:
                self.push(self.at(t), kind)
        wall0 = time.monotonic()
        next_report = self.start_at
        handlers: dict[str, Callable[[Any], None]] = {
            "arrive": self._arrive, "window": self._window, "sign_in": self._sign_in,
            "lunch": self._lunch, "afternoon": self._afternoon,
        }  # fmt: skip
        while self._heap and not self.stop.is_set():
            at, _, kind, arg = heapq.heappop(self._heap)
            self._pace(wall0, at)
            self.now = at
            self.hub.hold_clock(at)
            if kind == "end":
                break
            if self.progress is not None and at >= next_report:
                self.progress(self._progress_line())
                next_report = at + dt.timedelta(minutes=30)
            handlers[kind](arg)
        # Stopped early (the demo ends, or `until`): leave the day as it is.
        if not self.stop.is_set() and self.until is None:
            self._close()
        self.stats.wall_s = time.monotonic() - wall0
        return self.stats

    def _progress_line(self) -> str:
        busy = sum(w.status == "busy" for w in self.windows.values())
        return (
            f"{self.local():%H:%M} 已取号 {self.stats.issued}，"
            f"办理中窗口 {busy}/{len(self.windows)}，"
            f"预计等候误差 {self.meter.mean_absolute_error():.1f} 分钟（{self.meter.count} 张）"
        )

    # --- requests ----------------------------------------------------------------------

    def window_verb(self, name: str, w: SimWindow, **body: Any) -> Answer | None:
        """One window action over HTTP; None (counted) when the hub refuses it."""
        path = f"/api/v1/queue/windows/{w.spec.number}/{_PATHS.get(name, name)}"
        out = self.client.post(path, body)
        if isinstance(out, Refused):
            self.stats.errors[f"{name}: {out.detail}"] += 1
            log.debug("%s at window %d refused: %s", name, w.spec.number, out.detail)
            return None
        self.stats.verbs[name] += 1
        return out

    # --- citizens ------------------------------------------------------------------------

    def _arrive(self, v: Visit) -> None:
        body: dict[str, Any] = {
            "service": v.service, "channel": v.channel.value, "priority": v.priority.value,
            "priority_reason": v.priority_reason,
            "appointment_at": v.appointment_at.isoformat() if v.appointment_at else None,
        }  # fmt: skip
        out = self.client.post("/api/v1/queue/tickets", body)
        if isinstance(out, Refused):
            self.stats.refused[out.detail] += 1
            return
        self.stats.verbs["issue"] += 1
        self.stats.issued += 1
        ticket_id = int(out["id"])
        self.meter.issued(ticket_id, out["estimated_wait_min"])
        self.issued_at[ticket_id] = self.now
        self.plans[ticket_id] = v
        self._wake(int(out["service_id"]))

    def _follow_up(self, ticket: Answer | None) -> None:
        """A ticket a transfer or an auto-return created: that citizen comes at once."""
        if ticket is None:
            return
        service_id = int(ticket["service_id"])
        profile = self.hall.profile(service_id)
        self.plans[int(ticket["id"])] = follow_up_visit(profile, at=self.now, scale=self.scale,
                                                        rng=self.rng)  # fmt: skip
        self._wake(service_id)

    def _wake(self, service_id: int) -> None:
        idle = [w for w in self.windows.values()
                if w.status == "idle" and service_id in w.spec.service_ids]  # fmt: skip
        if idle:
            w = self.rng.choice(idle)
            w.status = "waking"
            self.schedule(w, "call", self.rng.uniform(2, 10))

    # --- the hall's day ----------------------------------------------------------------

    def _sign_in(self, _: object) -> None:
        for w in self.windows.values():
            if self.window_verb("login", w, clerk_id=w.spec.clerk_id) is not None:
                w.status = "waking"
                self.schedule(w, "call", self.rng.uniform(0, 60))

    def _lunch(self, _: object) -> None:
        for w in self.windows.values():
            if w.status == "idle":
                self._pause(w)

    def _afternoon(self, _: object) -> None:
        for w in self.windows.values():
            if w.status == "paused" and self.window_verb("resume", w) is not None:
                w.status = "waking"
                self.schedule(w, "call", self.rng.uniform(0, 120))

    def _pause(self, w: SimWindow) -> None:
        if self.window_verb("pause", w, reason="break") is not None:
            w.status = "paused"

    def _close(self) -> None:
        self.hub.close_day(self.day, self.now)

    # --- a window's clerk ------------------------------------------------------------------

    def _window(self, arg: tuple[int, int]) -> None:
        number, version = arg
        w = self.windows[number]
        if version != w.version:
            return
        {"call": self._call, "start": self._start, "recall": self._recall,
         "finish": self._finish, "transfer": self._transfer}[w.action](w)  # fmt: skip

    def _call(self, w: SimWindow) -> None:
        local = self.local()
        if LUNCH_LAST_CALL <= local < AFTERNOON:
            self._pause(w)
            return
        out = self.window_verb("call_next", w)
        if out is None or out["ticket"] is None:
            w.status = "idle"
            if LUNCH <= local < AFTERNOON:
                self._pause(w)
            elif local >= LAST_ARRIVAL and self.window_verb("logout", w) is not None:
                w.status = "off"
            return
        ticket_id, service_id = int(out["ticket"]["id"]), int(out["ticket"]["service_id"])
        w.status, w.ticket_id, w.recalls = "busy", ticket_id, 0
        issued = self.issued_at.pop(ticket_id, None)
        if issued is not None:
            waited = (self.now - issued).total_seconds() / 60
            self.waits_min.append(waited)
            self.meter.called(ticket_id, waited)
        plan = self.plans.pop(ticket_id, None) or follow_up_visit(
            self.hall.profile(service_id), at=self.now, scale=self.scale, rng=self.rng
        )
        w.visit = plan
        if plan.shows_up:
            self.schedule(w, "start", plan.walk_s)
        else:
            self.schedule(w, "recall", RECALL_GAP_S)

    def _recall(self, w: SimWindow) -> None:
        if w.recalls < self.settings.queue.max_recalls:
            w.recalls += 1
            self.window_verb("recall", w)
            self.schedule(w, "recall", RECALL_GAP_S)
            return
        self.window_verb("no_show", w, reason=None)
        self._next(w)

    def _start(self, w: SimWindow) -> None:
        assert w.visit is not None
        self.window_verb("start", w)
        if w.visit.transfer_to is not None:
            self.schedule(w, "transfer", w.visit.handling_s * 0.4)
        else:
            self.schedule(w, "finish", w.visit.handling_s)

    def _finish(self, w: SimWindow) -> None:
        assert w.visit is not None
        out = self.window_verb("finish", w, outcome=w.visit.outcome)
        if out is not None:
            self._follow_up(out["follow_up"])
        self._next(w)

    def _transfer(self, w: SimWindow) -> None:
        assert w.visit is not None
        assert w.visit.transfer_to is not None
        out = self.window_verb(
            "transfer", w, service=w.visit.transfer_to, reason="additional_service",
            return_after=w.visit.transfer_returns,
        )  # fmt: skip
        if out is None:  # e.g. a clerk of this window may not transfer there: finish instead
            self.schedule(w, "finish", 0)
            return
        self._follow_up(out["follow_up"])
        self._next(w)

    def _next(self, w: SimWindow) -> None:
        w.ticket_id, w.visit = None, None
        w.status = "waking"
        self.schedule(w, "call", self.rng.uniform(5, 20))


def ticket_states(session: Session, day: dt.date) -> Counter[str]:
    from sqlalchemy import func, select

    rows = session.execute(
        select(Ticket.state, func.count()).where(Ticket.day == day).group_by(Ticket.state)
    )
    return Counter({state: int(n) for state, n in rows})


__all__ = ["DaySimulation", "DayStats", "TicketState", "ticket_states"]
