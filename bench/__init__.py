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


BENCHMARKS: dict[str, Callable[..., dict[str, Any]]] = {"fleet": _fleet}
