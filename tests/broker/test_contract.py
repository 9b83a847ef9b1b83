"""The MQTT contract: topics, validation verdicts, access rules, generated doc."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from broker.contract import (
    MAX_PAYLOAD_BYTES,
    Channel,
    Command,
    Event,
    Rejected,
    Topics,
    acl_allows,
    decode,
    encode,
    utcnow,
)
from broker.docs import render_mqtt_doc

T = Topics("xian-yanta")


def test_every_topic_the_contract_builds_parses_back_to_its_parts() -> None:
    cases = [
        (T.status("kiosk-01"), Channel.STATUS, "kiosk-01", ""),
        (T.health("kiosk-01"), Channel.HEALTH, "kiosk-01", ""),
        (T.event("caller-07", "button"), Channel.EVENT, "caller-07", "button"),
        (T.command("display-01", "ping"), Channel.COMMAND, "display-01", "ping"),
        (T.result("display-01"), Channel.RESULT, "display-01", ""),
        (T.ack("display-01"), Channel.ACK, "display-01", ""),
        (T.config("display-01"), Channel.CONFIG, "display-01", ""),
        (T.hub_status(), Channel.HUB_STATUS, None, ""),
        (T.hall_state("notice"), Channel.HALL, None, "notice"),
        (T.hall_calls(), Channel.HALL_CALLS, None, ""),
        (T.hall_window(5), Channel.HALL_WINDOW, None, "5"),
        (T.hall_queue("market"), Channel.HALL_QUEUE, None, "market"),
    ]
    for topic, channel, device, name in cases:
        parsed = T.parse(topic)
        assert parsed is not None, topic
        assert (parsed.channel, parsed.device_id, parsed.name) == (channel, device, name)


@pytest.mark.parametrize(
    "topic",
    [
        "anxin/v1/other-hall/hub/status",
        "anxin/v2/xian-yanta/hub/status",
        "anxin/v1/xian-yanta/dev/Kiosk!/status",
        "anxin/v1/xian-yanta/dev/kiosk-01/evt",
        "anxin/v1/xian-yanta/dev/kiosk-01/evt/a/b",
        "anxin/v1/xian-yanta/dev/kiosk-01/unknown",
    ],
)
def test_topics_outside_the_contract_are_not_parsed(topic: str) -> None:
    assert T.parse(topic) is None


def _event() -> Event:
    return Event(event_id="e1", boot_id="b1", seq=1, ts=utcnow(), data={"button": "next"})


def test_a_valid_event_decodes_to_its_model() -> None:
    msg = decode(T, T.event("caller-01", "button"), encode(_event()))
    assert isinstance(msg.payload, Event)
    assert msg.payload.data == {"button": "next"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "invalid Event"),
        (
            b'{"v": 2, "event_id": "e", "boot_id": "b", "seq": 1, "ts": "2026-01-01T00:00:00Z"}',
            "unsupported schema version",
        ),
        (
            b'{"v": 1, "event_id": "e", "boot_id": "b", "seq": 0, "ts": "2026-01-01T00:00:00Z"}',
            "seq",
        ),
        (
            b'{"v": 1, "event_id": "e", "boot_id": "b", "seq": 1, "ts": "x", "extra": 1}',
            "invalid Event",
        ),
        (b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", "too large"),
    ],
)
def test_malformed_payloads_are_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as exc:
        decode(T, T.event("caller-01", "button"), raw)
    assert reason in exc.value.reason


def test_payloads_are_frozen() -> None:
    cmd = Command(command_id="c1", deadline=utcnow() + timedelta(seconds=5))
    with pytest.raises(ValueError, match="frozen"):
        cmd.command_id = "c2"  # type: ignore[misc]


def test_a_device_may_write_only_its_own_branch_and_never_commands() -> None:
    me = "kiosk-01"
    assert acl_allows(T, me, T.event(me, "ticket"), "write")
    assert acl_allows(T, me, T.status(me), "write")
    assert not acl_allows(T, me, T.event("kiosk-02", "ticket"), "write")
    assert not acl_allows(T, me, T.command(me, "ping"), "write")
    assert not acl_allows(T, me, T.config(me), "write")
    assert not acl_allows(T, me, T.ack(me), "write")
    assert not acl_allows(T, me, T.hub_status(), "write")
    assert acl_allows(T, "hub", T.command(me, "ping"), "write")


def test_a_device_may_not_subscribe_wider_than_its_own_commands() -> None:
    me = "kiosk-01"
    assert acl_allows(T, me, f"{T.root}/dev/{me}/cmd/+", "read")
    assert acl_allows(T, me, f"{T.root}/hall/#", "read")
    assert not acl_allows(T, me, f"{T.root}/dev/+/cmd/+", "read")
    assert not acl_allows(T, me, f"{T.root}/#", "read")
    assert not acl_allows(T, me, f"{T.root}/dev/kiosk-02/cmd/ping", "read")


def test_docs_mqtt_md_is_generated_from_the_current_contract() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"
    assert doc.read_text(encoding="utf-8") == render_mqtt_doc(), (
        "docs/mqtt.md is stale: run `anxin docs mqtt`"
    )


def test_each_kind_subscribes_to_the_hall_topics_it_reads() -> None:
    from broker.contract import DeviceKind

    def hall(kind: DeviceKind | None) -> set[str]:
        subs = T.device_subscriptions("dev-01", kind)
        return {t.split("/hall/", 1)[1] for t, _qos in subs if "/hall/" in t}

    assert hall(DeviceKind.CALLER) == {"window/+"}  # no call lists, queues or matters
    assert hall(DeviceKind.DISPLAY) == {"calls", "window/+", "queue/+"}
    assert hall(DeviceKind.KIOSK) == {"#"}
    assert hall(DeviceKind.SIGNLANG) == set()
    assert hall(None) == {"#"}
    # Every kind still hears its commands, config and the hub.
    for kind in DeviceKind:
        topics = {t for t, _qos in T.device_subscriptions("dev-01", kind)}
        assert T.config("dev-01") in topics
        assert T.hub_status() in topics
