"""Prometheus metrics of one hub app, on a registry of its own.

A per-app `CollectorRegistry` (not prometheus_client's global one) lets
several hubs live in one process, as they do in the tests.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Round trips are expected in single milliseconds; the top buckets catch
# commands that ran into their deadline.
ROUND_TRIP_BUCKETS = (
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.devices_online = Gauge(
            "anxin_hub_devices_online", "Devices whose last status is online", registry=r
        )
        self.messages_received = Counter(
            "anxin_hub_mqtt_messages_received",
            "MQTT messages received by the hub",
            ["channel"],
            registry=r,
        )
        self.messages_rejected = Counter(
            "anxin_hub_mqtt_messages_rejected",
            "MQTT messages that broke the contract",
            ["reason"],
            registry=r,
        )
        self.events_stored = Counter(
            "anxin_hub_events_stored", "Device events stored for the first time", registry=r
        )
        self.events_duplicate = Counter(
            "anxin_hub_events_duplicate",
            "Device events received again (acked, not stored)",
            registry=r,
        )
        self.stale_status = Counter(
            "anxin_hub_stale_status_ignored",
            "Device statuses older than the stored connection",
            registry=r,
        )
        self.commands = Counter(
            "anxin_hub_commands", "Commands finished, by final status", ["status"], registry=r
        )
        self.command_round_trip = Histogram(
            "anxin_hub_command_round_trip_seconds",
            "From publishing a command to its final result",
            buckets=ROUND_TRIP_BUCKETS,
            registry=r,
        )
        self.writer_failures = Counter(
            "anxin_hub_db_writer_failures", "Bridge writes that failed (logged)", registry=r
        )

    def count_online_with(self, counter: Callable[[], int]) -> None:
        """Read the online count from the database at scrape time, so it is
        right even for devices changed by another hub worker."""
        self.devices_online.set_function(lambda: float(counter()))


def rejection_class(reason: str) -> str:
    """A small, fixed label set for `Rejected.reason` (free text would explode
    the number of time series)."""
    if reason.startswith("payload too large"):
        return "too_large"
    if reason.startswith("unknown topic"):
        return "unknown_topic"
    if reason.startswith("unsupported schema version"):
        return "schema_version"
    if "Invalid JSON" in reason or "json_invalid" in reason:
        return "malformed_json"
    return "invalid_payload"
