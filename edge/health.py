"""Health figures for the heartbeat: CPU, memory, temperature, version."""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import metadata

import psutil

DIST_NAME = "anxin-hall"


def software_version() -> str:
    """The installed package version, or a marker when running from a checkout."""
    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class SystemFigures:
    cpu_percent: float
    memory_percent: float
    temperature_c: float | None


class SystemProbe:
    """Reads machine-wide figures, cached for `ttl_s`.

    Share one probe between agents in one process (the 200-device benchmark):
    the figures are the same machine's, and reading sensors is not free.
    """

    def __init__(self, *, ttl_s: float = 1.0) -> None:
        self._ttl_s = ttl_s
        self._at = float("-inf")
        self._figures = SystemFigures(0.0, 0.0, None)
        psutil.cpu_percent(interval=None)  # the first call only starts the measurement

    def read(self) -> SystemFigures:
        now = time.monotonic()
        if now - self._at >= self._ttl_s:
            self._figures = SystemFigures(
                cpu_percent=psutil.cpu_percent(interval=None),
                memory_percent=psutil.virtual_memory().percent,
                temperature_c=_temperature(),
            )
            self._at = now
        return self._figures


def _temperature() -> float | None:
    """The SoC temperature where the platform reports one (a Pi: cpu_thermal)."""
    sensors = getattr(psutil, "sensors_temperatures", None)
    if sensors is None:
        return None
    try:
        readings = sensors()
    except (OSError, RuntimeError):
        return None
    for preferred in ("cpu_thermal", "coretemp", "k10temp", "soc_thermal"):
        if readings.get(preferred):
            return float(readings[preferred][0].current)
    for entries in readings.values():
        if entries:
            return float(entries[0].current)
    return None
