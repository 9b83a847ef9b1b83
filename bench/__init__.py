"""Benchmarks run by `anxin bench NAME [--quick]`.

Each takes the loaded settings and returns
``{"bench": NAME, "metrics": {...}, "targets": {...}, "pass": bool}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anxin.settings import Settings


def _fleet(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """Command -> result round trip through hub and broker, 200 devices, both brokers."""
    from bench.fleet import run

    return run(settings, quick=quick)


def _call_latency(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """Window "next" -> retained board topic at a subscriber, 76 windows, Mosquitto."""
    from bench.call_latency import run

    return run(settings, quick=quick)


def _ticket_throughput(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """Issue / call-next / finish / citizen view through the HTTP API, 2 hub workers."""
    from bench.ticket_throughput import run

    return run(settings, quick=quick)


def _guidance(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """智能问答 and 智能导办 latency on a generated library of 2,000 matters."""
    from bench.guidance import run

    return run(settings, quick=quick)


def _ticket_print(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """Kiosk tap -> ticket bytes at the printer, online (broker + hub) and offline (block)."""
    from bench.ticket_print import run

    return run(settings, quick=quick)


def _signlang_video(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """Sign-language terminal video end to end through the hub: fps, latency, connect, CPU."""
    from bench.signlang_video import run

    return run(settings, quick=quick)


def _press_to_board(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """Caller button (76 callers) -> hall board drawn (Kivy, headless) and voice first sample."""
    from bench.press_to_board import run

    return run(settings, quick=quick)


def _queue_verbs(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """CPU and SQL statements of one queue verb in-process (issue, call-next+finish)."""
    from bench.queue_verbs import run

    return run(settings, quick=quick)


def _queue_requests(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """CPU of one queue request through the whole hub app in-process (ASGI, no client)."""
    from bench.queue_requests import run

    return run(settings, quick=quick)


BENCHMARKS: dict[str, Callable[..., dict[str, Any]]] = {
    "fleet": _fleet,
    "call-latency": _call_latency,
    "ticket-throughput": _ticket_throughput,
    "queue-verbs": _queue_verbs,
    "queue-requests": _queue_requests,
    "guidance": _guidance,
    "ticket-print": _ticket_print,
    "signlang-video": _signlang_video,
    "press-to-board": _press_to_board,
}
