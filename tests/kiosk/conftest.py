"""Kiosk fixtures: the queue's small halls (`tests.queueing.conftest`) for the hub side."""

from __future__ import annotations

from tests.queueing.conftest import counter, hall

__all__ = ["counter", "hall"]
