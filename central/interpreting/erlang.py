"""Erlang C: how many interpreters (or windows, or hotline agents) a queue needs.

Pure functions of the M/M/N queue with no abandonment. Traffic intensity
A = calls per hour × AHT / 3600 (Erlangs); with N agents (N > A):

- probability of waiting  Pw = C(N, A), computed through Erlang B's stable
  recursion B(k) = A·B(k−1) / (k + A·B(k−1)), C = N·B / (N − A·(1 − B));
- service level  SL(t) = 1 − Pw · exp(−(N − A) · t / AHT);
- average speed of answer  ASA = Pw · AHT / (N − A);
- occupancy  A / N.

With N ≤ A the queue grows without bound: Pw = 1, SL = 0, ASA = ∞.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_AGENTS = 10_000


def traffic_erlangs(calls_per_hour: float, aht_s: float) -> float:
    if calls_per_hour < 0 or aht_s <= 0:
        raise ValueError("calls per hour must be ≥ 0 and handling time > 0")
    return calls_per_hour * aht_s / 3600.0


def erlang_b(agents: int, erlangs: float) -> float:
    """Blocking probability of `agents` servers with no queue (Erlang B)."""
    if agents < 0 or erlangs < 0:
        raise ValueError("agents and traffic must be ≥ 0")
    b = 1.0
    for k in range(1, agents + 1):
        b = erlangs * b / (k + erlangs * b)
    return b


def probability_waiting(agents: int, erlangs: float) -> float:
    """Erlang C: the share of calls that wait at all."""
    if agents <= erlangs:
        return 1.0
    b = erlang_b(agents, erlangs)
    return agents * b / (agents - erlangs * (1.0 - b))


def service_level(agents: int, erlangs: float, aht_s: float, within_s: float) -> float:
    """The share of calls answered within `within_s` seconds."""
    if agents <= erlangs:
        return 0.0
    pw = probability_waiting(agents, erlangs)
    return max(0.0, 1.0 - pw * math.exp(-(agents - erlangs) * within_s / aht_s))


def average_speed_of_answer(agents: int, erlangs: float, aht_s: float) -> float:
    """Mean wait over all calls (those answered at once count as 0), seconds."""
    if agents <= erlangs:
        return math.inf
    return probability_waiting(agents, erlangs) * aht_s / (agents - erlangs)


@dataclass(frozen=True)
class Staffing:
    agents: int
    erlangs: float
    probability_waiting: float
    service_level: float
    asa_s: float
    occupancy: float


def staffing(agents: int, *, calls_per_hour: float, aht_s: float, within_s: float) -> Staffing:
    a = traffic_erlangs(calls_per_hour, aht_s)
    return Staffing(
        agents=agents,
        erlangs=a,
        probability_waiting=probability_waiting(agents, a),
        service_level=service_level(agents, a, aht_s, within_s),
        asa_s=average_speed_of_answer(agents, a, aht_s),
        occupancy=min(1.0, a / agents) if agents else 1.0,
    )


def agents_needed(
    *, calls_per_hour: float, aht_s: float, target: float, within_s: float
) -> Staffing:
    """The fewest agents whose service level reaches `target` (0 < target < 1)."""
    if not 0 < target < 1:
        raise ValueError("the target share must be between 0 and 1 (e.g. 0.85)")
    if within_s < 0:
        raise ValueError("the answer time must be ≥ 0 s")
    a = traffic_erlangs(calls_per_hour, aht_s)
    n = max(1, math.floor(a) + 1)
    while n <= MAX_AGENTS:
        s = staffing(n, calls_per_hour=calls_per_hour, aht_s=aht_s, within_s=within_s)
        if s.service_level >= target:
            return s
        n += 1
    raise ValueError(f"more than {MAX_AGENTS} agents would be needed")
