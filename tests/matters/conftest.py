"""Matter library fixtures: the hub's web and MQTT fixtures from tests/central."""

from __future__ import annotations

from tests.central.conftest import hub, mosquitto_hub, web

__all__ = ["hub", "mosquitto_hub", "web"]
