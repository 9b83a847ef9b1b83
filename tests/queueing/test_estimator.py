"""The wait estimate: learns the real pace, knows busy windows, and on a
simulated day is wrong by only a few minutes on average."""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import select

from central.queueing.estimator import (
    MAX_SAMPLES,
    ServiceLoad,
    WaitErrorMeter,
    WindowCapacity,
    handling_time_s,
    service_loads,
    wait_minutes,
)
from central.queueing.models import Service
from tests.queueing.hall import Hall


def _load(
    *,
    avg_s: float = 600,
    durations: tuple[float, ...] = (),
    windows: tuple[WindowCapacity, ...] = (WindowCapacity(1.0, None),),
    waiting: int = 0,
) -> ServiceLoad:
    return ServiceLoad(1, avg_s, durations, windows, waiting)


def test_first_ticket_of_the_morning_uses_the_configured_handling_time() -> None:
    assert handling_time_s(600, ()) == 600


def test_handling_time_follows_the_real_pace_when_the_configuration_is_wrong() -> None:
    h = handling_time_s(900, [240.0] * MAX_SAMPLES)
    assert 240 < h < 260


def test_a_forgotten_finish_button_does_not_blow_up_the_estimate() -> None:
    h = handling_time_s(300, [300.0] * 10 + [4 * 3600.0])
    assert h < 300 * 2.5


def test_nobody_ahead_and_an_idle_window_means_no_wait() -> None:
    assert wait_minutes(_load(), 0) == 0


def test_no_open_window_gives_no_estimate() -> None:
    assert wait_minutes(_load(windows=()), 3) is None


def test_more_open_windows_shorten_the_wait() -> None:
    busy = WindowCapacity(1.0, 0.0)
    one = wait_minutes(_load(windows=(busy,)), 6)
    three = wait_minutes(_load(windows=(busy, busy, busy)), 6)
    assert one is not None
    assert three is not None
    assert three < one / 2


def test_a_window_nearly_done_frees_sooner_than_one_that_just_started() -> None:
    nearly_done = wait_minutes(_load(windows=(WindowCapacity(1.0, 540.0),)), 0)
    just_started = wait_minutes(_load(windows=(WindowCapacity(1.0, 10.0),)), 0)
    assert nearly_done is not None
    assert just_started is not None
    assert nearly_done < just_started


def test_a_window_shared_with_another_queue_counts_for_part_of_its_time() -> None:
    full = wait_minutes(_load(windows=(WindowCapacity(1.0, 0.0),)), 4)
    half = wait_minutes(_load(windows=(WindowCapacity(0.5, 0.0),)), 4)
    assert full is not None
    assert half is not None
    assert math.isclose(half, 2 * full, rel_tol=0.01)


# --- a simulated day ---------------------------------------------------------------


@dataclass
class _Window:
    busy_until: float = 0.0
    started: float | None = None


@dataclass
class _Day:
    """A morning of one service: Poisson arrivals with a peak, lognormal handling."""

    windows: int
    configured_avg_s: float
    real_avg_s: float
    seed: int
    hours: float = 4.0
    meter: WaitErrorMeter = field(default_factory=WaitErrorMeter)
    naive: WaitErrorMeter = field(default_factory=WaitErrorMeter)

    def arrival_rate(self, t: float) -> float:
        # Busy at 9-10 and 11, about 90 % load on average.
        capacity = self.windows / self.real_avg_s
        peak = 1.0 + 0.35 * math.sin(2 * math.pi * t / (2 * 3600))
        return 0.9 * capacity * peak

    def run(self) -> None:
        rng = random.Random(self.seed)
        sigma = 0.5
        mu = math.log(self.real_avg_s) - sigma**2 / 2
        arrivals: list[float] = []
        t = 0.0
        while t < self.hours * 3600:
            t += rng.expovariate(self.arrival_rate(t))
            arrivals.append(t)
        windows = [_Window() for _ in range(self.windows)]
        queue: deque[tuple[int, float]] = deque()
        done: deque[float] = deque(maxlen=MAX_SAMPLES)
        # Events: (time, kind, payload): 0 = a window frees, 1 = someone arrives.
        events: list[tuple[float, int, int]] = [(a, 1, i) for i, a in enumerate(arrivals)]
        heapq.heapify(events)
        while events:
            now, kind, n = heapq.heappop(events)
            if kind == 1:
                load = ServiceLoad(
                    1,
                    self.configured_avg_s,
                    tuple(done),
                    tuple(
                        WindowCapacity(1.0, None if w.started is None else now - w.started)
                        for w in windows
                    ),
                    len(queue),
                )
                self.meter.issued(n, wait_minutes(load, len(queue)))
                self.naive.issued(n, len(queue) * self.configured_avg_s / self.windows / 60)
                queue.append((n, now))
            else:
                w = windows[n]
                if w.started is not None:
                    done.append(now - w.started)
                w.started = None
            for i, w in enumerate(windows):
                if w.started is None and queue:
                    ticket, arrived = queue.popleft()
                    self.meter.called(ticket, (now - arrived) / 60)
                    self.naive.called(ticket, (now - arrived) / 60)
                    w.started = now
                    heapq.heappush(events, (now + rng.lognormvariate(mu, sigma), 0, i))


def test_estimate_on_a_simulated_morning_is_within_a_few_minutes() -> None:
    """8 windows, handling really ~6 min while configured as 10: MAE ≈ 1 min (naive ≈ 2)."""
    maes, naive = [], []
    for seed in range(5):
        day = _Day(windows=8, configured_avg_s=600, real_avg_s=360, seed=seed)
        day.run()
        assert day.meter.count > 200
        maes.append(day.meter.mean_absolute_error())
        naive.append(day.naive.mean_absolute_error())
    mae = sum(maes) / len(maes)
    print(f"estimator MAE {mae:.2f} min, naive (configured average) {sum(naive) / 5:.2f} min")
    assert mae < 5.0
    assert mae < 0.6 * sum(naive) / len(naive)


def test_estimate_with_a_correct_configuration_and_few_windows() -> None:
    maes = []
    for seed in range(5):
        day = _Day(windows=2, configured_avg_s=480, real_avg_s=480, seed=seed)
        day.run()
        maes.append(day.meter.mean_absolute_error())
    mae = sum(maes) / len(maes)
    print(f"estimator MAE (2 windows) {mae:.2f} min")
    assert mae < 8.0


def test_every_priority_class_has_its_place_in_the_calling_order() -> None:
    """A class added to `Priority` without a place in the call-next order
    would never be called first, be left out of the people ahead and of the
    SMS listener's front; without a label the window's screen could not name it."""
    from central.queueing.calling import CLASS_LABELS, CLASS_ORDER
    from central.queueing.estimator import PRIORITY_RANK
    from central.queueing.models import Priority

    assert sorted(CLASS_ORDER) == sorted(Priority)
    assert set(CLASS_LABELS) == set(Priority)
    assert sorted(PRIORITY_RANK, key=PRIORITY_RANK.__getitem__) == [p.value for p in CLASS_ORDER]


def test_the_handling_times_are_each_services_latest_completions_oldest_first(
    hall: Hall,
) -> None:
    """What the database gives the estimator: per service, only its latest
    MAX_SAMPLES handling times of the day (call to finish), in the order
    they ended, so the moving average weighs the newest most."""
    hall.service("general", "A", "综合受理")
    hall.service("estate", "B", "不动产登记")
    hall.window(1, {"general": 1.0})
    hall.window(2, {"estate": 1.0})
    hall.login(1, hall.clerk("wangfang", ["general"]))
    hall.login(2, hall.clerk("lina", ["estate"]))
    for n in range(MAX_SAMPLES + 5):
        hall.issue("general")
        hall.next(1)
        hall.start(1)
        hall.tick(10 + n)  # with a second per verb: call to finish 12 + n s
        hall.finish(1)
    hall.issue("estate")
    hall.next(2)
    hall.start(2)
    hall.tick(300)
    hall.finish(2)

    loads = hall.db(lambda s: service_loads(s, day=hall.day, now=hall.now))
    ids = hall.db(
        lambda s: {code: sid for code, sid in s.execute(select(Service.code, Service.id))}
    )
    general, estate = ids["general"], ids["estate"]
    assert loads[general].durations_s == tuple(float(12 + n) for n in range(5, MAX_SAMPLES + 5))
    assert loads[estate].durations_s == (302.0,)
