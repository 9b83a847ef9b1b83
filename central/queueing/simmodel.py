"""The simulated hall's visitors: who comes when, for what, and how long it takes.

Pure and seeded (no database, no clock): `plan_day` turns a hall (its
services and how much window time each gets) into a list of `Visit`s that
`central.queueing.simulate` then plays against the real queue engine.

- **Arrivals**: a non-homogeneous Poisson process over the hall's opening
  hours (09:00–12:00 and 13:00–17:00 Beijing time) with a base rate and two
  Gaussian peaks, the morning one at 10:00 and the afternoon one at 15:00
  (≈ 09:30–10:30 and 14:30–15:30 at their widest), the shape halls report.
  Given the day's count, the arrival times of such a process are independent
  draws from the normalised intensity, which is what we sample (by
  rejection), so a run has exactly the requested number of visitors.
- **Service mix**: a visitor picks a service with probability proportional to
  the window time the hall gives it divided by its average handling time,
  i.e. the number of visitors its windows can serve. Every service is then
  about as busy as the others, as a hall that sized its windows would be.
- **Handling time**: lognormal (σ = 0.6 in log space) with mean
  ``avg_handling_s × handling_scale``. ``handling_scale`` defaults to what
  makes the day's work about `TARGET_UTILISATION` of the open window time:
  the demo hall's configured averages (6–40 min) give 60 windows room for
  only ~1,900 visitors in 7 hours, and a hall that sees 3,000 a day is one
  whose real handling times are shorter than configured, which is also what
  the estimator has to learn during the morning.
- **Behaviour**: a share of 绿色通道 (with a reason code), appointment
  check-ins (booked 0–15 minutes after arrival), no-shows (take a ticket and
  leave), transfers to a related service (some with auto-return), and an
  outcome code per visit.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from central.queueing.models import Channel, Priority

SESSIONS: Final = ((dt.time(9, 0), dt.time(12, 0)), (dt.time(13, 0), dt.time(17, 0)))
PEAKS: Final = ((10.0, 1.6), (15.0, 1.3))  # (hour, height over the base rate of 1)
PEAK_SIGMA_H: Final = 0.45
TARGET_UTILISATION: Final = 0.8
SIGMA_LOG: Final = 0.6

GREEN_SHARE: Final = 0.03
APPOINTMENT_SHARE: Final = 0.10
MOBILE_SHARE: Final = 0.20
NO_SHOW_SHARE: Final = 0.05
TRANSFER_SHARE: Final = 0.03
RETURN_SHARE: Final = 0.3  # of transfers: come back to the first service afterwards
GREEN_REASONS: Final = ("elderly", "elderly", "elderly", "disabled", "pregnant", "military")
OUTCOMES: Final = (("completed", 0.70), ("accepted", 0.15), ("incomplete", 0.08),
                   ("consulted", 0.07))  # fmt: skip


@dataclass(frozen=True)
class ServiceProfile:
    code: str
    area: str
    avg_handling_s: float
    window_share: float  # window time the hall gives it, in windows (Σ weight shares)


@dataclass(frozen=True)
class Visit:
    """One visitor's intent, fixed before the day is played."""

    arrive_at: dt.datetime  # UTC
    service: str
    channel: Channel
    priority: Priority
    priority_reason: str | None
    appointment_at: dt.datetime | None
    shows_up: bool
    walk_s: float  # from the call to the window
    handling_s: float
    outcome: str
    transfer_to: str | None = None
    transfer_returns: bool = False


def intensity(hour: float) -> float:
    """Relative arrival rate at a local hour (0 while the hall is closed)."""
    if not any(a.hour + a.minute / 60 <= hour < b.hour + b.minute / 60 for a, b in SESSIONS):
        return 0.0
    bumps = sum(h * math.exp(-(((hour - at) / PEAK_SIGMA_H) ** 2) / 2) for at, h in PEAKS)
    return 1.0 + bumps


def open_hours() -> float:
    return sum((b.hour - a.hour) + (b.minute - a.minute) / 60 for a, b in SESSIONS)


def arrival_hours(n: int, rng: random.Random) -> list[float]:
    """`n` sorted local arrival hours drawn from the normalised intensity."""
    top = 1.0 + sum(h for _, h in PEAKS)
    spans = [(a.hour + a.minute / 60, b.hour + b.minute / 60) for a, b in SESSIONS]
    total = sum(b - a for a, b in spans)
    out: list[float] = []
    while len(out) < n:
        x = rng.uniform(0, total)
        for a, b in spans:
            if x < b - a:
                hour = a + x
                break
            x -= b - a
        if rng.uniform(0, top) < intensity(hour):
            out.append(hour)
    return sorted(out)


def service_weights(services: Sequence[ServiceProfile]) -> list[float]:
    return [s.window_share / max(s.avg_handling_s, 1.0) for s in services]


def auto_handling_scale(services: Sequence[ServiceProfile], visitors: int) -> float:
    """The scale of handling times that keeps the hall near `TARGET_UTILISATION`."""
    capacity = sum(s.window_share for s in services) * open_hours() * 3600  # window-seconds
    weights = service_weights(services)
    total = sum(weights)
    if total <= 0 or visitors <= 0:
        return 1.0
    mean_s = sum(w / total * s.avg_handling_s for w, s in zip(weights, services, strict=True))
    shows = 1 - NO_SHOW_SHARE
    need = visitors * shows * mean_s * (1 + TRANSFER_SHARE)
    return min(1.0, TARGET_UTILISATION * capacity / need)


def draw_handling_s(avg_s: float, scale: float, rng: random.Random) -> float:
    mean = avg_s * scale
    mu = math.log(mean) - SIGMA_LOG**2 / 2  # a lognormal's mean is exp(mu + σ²/2)
    return min(max(rng.lognormvariate(mu, SIGMA_LOG), 60.0), 4 * mean)


def _outcome(rng: random.Random) -> str:
    x = rng.random()
    for code, p in OUTCOMES:
        if x < p:
            return code
        x -= p
    return OUTCOMES[0][0]


def _related(service: ServiceProfile, services: Sequence[ServiceProfile],
             rng: random.Random) -> str | None:  # fmt: skip
    """A transfer goes to another service of the same area when there is one."""
    same = [s.code for s in services if s.area == service.area and s.code != service.code]
    other = [s.code for s in services if s.code != service.code]
    pool = same or other
    return rng.choice(pool) if pool else None


def plan_day(
    services: Sequence[ServiceProfile],
    *,
    day: dt.date,
    visitors: int,
    seed: int,
    zone: ZoneInfo,
    handling_scale: float | None = None,
) -> tuple[list[Visit], float]:
    """The day's visits in arrival order, and the handling scale used."""
    rng = random.Random(seed)
    scale = handling_scale or auto_handling_scale(services, visitors)
    weights = service_weights(services)
    midnight = dt.datetime.combine(day, dt.time(0), zone)
    visits: list[Visit] = []
    for hour in arrival_hours(visitors, rng):
        arrive = (midnight + dt.timedelta(hours=hour)).astimezone(dt.UTC)
        svc = rng.choices(services, weights)[0]
        x = rng.random()
        priority, reason, appointment, channel = Priority.NORMAL, None, None, Channel.KIOSK
        if x < GREEN_SHARE:
            priority, reason = Priority.GREEN, rng.choice(GREEN_REASONS)
        elif x < GREEN_SHARE + APPOINTMENT_SHARE:
            priority, channel = Priority.APPOINTMENT, Channel.APPOINTMENT
            appointment = arrive + dt.timedelta(minutes=rng.uniform(0, 15))
        elif rng.random() < MOBILE_SHARE:
            channel = Channel.MOBILE
        transfer = _related(svc, services, rng) if rng.random() < TRANSFER_SHARE else None
        visits.append(
            Visit(
                arrive_at=arrive,
                service=svc.code,
                channel=channel,
                priority=priority,
                priority_reason=reason,
                appointment_at=appointment,
                shows_up=rng.random() >= NO_SHOW_SHARE,
                walk_s=rng.uniform(15, 60),
                handling_s=draw_handling_s(svc.avg_handling_s, scale, rng),
                outcome=_outcome(rng),
                transfer_to=transfer,
                transfer_returns=transfer is not None and rng.random() < RETURN_SHARE,
            )
        )
    return visits, scale


def follow_up_visit(
    service: ServiceProfile, *, at: dt.datetime, scale: float, rng: random.Random
) -> Visit:
    """A transferred or returning citizen is already in the hall: they come at once."""
    return Visit(
        arrive_at=at,
        service=service.code,
        channel=Channel.KIOSK,
        priority=Priority.NORMAL,
        priority_reason=None,
        appointment_at=None,
        shows_up=True,
        walk_s=rng.uniform(10, 30),
        handling_s=draw_handling_s(service.avg_handling_s, scale, rng),
        outcome=_outcome(rng),
    )
