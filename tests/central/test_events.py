"""Device events reach the hub exactly once, however often a device replays them."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from central.devices.models import DeviceEvent
from tests.central.conftest import Hub
from tests.central.fakes import eventually


def stored_events(hub: Hub, device_id: str) -> list[tuple[int, str]]:
    with hub.state.sessions() as session:
        rows = session.execute(
            select(DeviceEvent.seq, DeviceEvent.boot_id)
            .where(DeviceEvent.device_id == device_id)
            .order_by(DeviceEvent.seq)
        )
        return [(seq, boot) for seq, boot in rows]


async def test_replaying_an_event_one_to_five_times_stores_it_once_and_acks_every_copy(
    hub: Hub,
) -> None:
    kiosk = await hub.device("kiosk-01")
    # Event k is sent k times, as an outbox does after lost acks.
    for seq in range(1, 6):
        topic, payload = kiosk.event(seq)
        for _ in range(seq):
            kiosk.publish_raw(topic, payload)

    acks = [await asyncio.wait_for(kiosk.acks.get(), 5) for _ in range(15)]

    assert sorted(a.seq for a in acks) == sorted(s for s in range(1, 6) for _ in range(s))
    assert {a.boot_id for a in acks} == {kiosk.boot_id}
    assert stored_events(hub, "kiosk-01") == [(s, kiosk.boot_id) for s in range(1, 6)]
    assert hub.metric("anxin_hub_events_stored_total") == 5
    assert hub.metric("anxin_hub_events_duplicate_total") == 10


async def test_same_sequence_number_after_a_reboot_is_a_new_event(mosquitto_hub: Hub) -> None:
    hub = mosquitto_hub
    kiosk = await hub.device("kiosk-02")
    kiosk.publish_raw(*kiosk.event(1))
    await asyncio.wait_for(kiosk.acks.get(), 5)
    kiosk.boot_id = "second-boot"
    kiosk.publish_raw(*kiosk.event(1))
    await asyncio.wait_for(kiosk.acks.get(), 5)

    def count() -> int:
        with hub.state.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(DeviceEvent)) or 0)

    await eventually(lambda: count() == 2, what="two stored events")
