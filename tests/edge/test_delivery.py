"""Events reach the hub at least once, each stored once, and leave when acknowledged."""

from __future__ import annotations

from broker.contract import EventAck
from edge.ports.buttons import SimButtons
from tests.edge.conftest import StartDevice
from tests.edge.support import TinyHub, wait_until


async def test_unacknowledged_event_is_resent_without_a_second_outbox_entry(
    hub: TinyHub, start_device: StartDevice
) -> None:
    hub.auto_ack = False
    hub.set_online(True)
    agent = await start_device(resend_s=0.2)
    buttons = agent.ports.buttons
    assert isinstance(buttons, SimButtons)

    buttons.press("next")
    await wait_until(lambda: len(hub.events) >= 3, what="the event resent twice")

    event = hub.events[0][1]
    assert all(e == event for _, e in hub.events), "every resend is the very same event"
    assert agent.outbox.depth() == 1
    assert event.data == {"button": "next"}

    hub.publish(hub.topics.ack("caller-01"), EventAck(boot_id=event.boot_id, seq=event.seq))
    await wait_until(lambda: agent.outbox.depth() == 0, what="acked event gone")
    sent = len(hub.events)
    await wait_until(lambda: agent.courier.sent == sent, what="no more resends", within=1)


async def test_replayed_event_id_is_delivered_once_and_acked_away(
    hub: TinyHub, start_device: StartDevice
) -> None:
    agent = await start_device()
    first = agent.emit("ticket", {"no": "A001"}, event_id="kiosk-ticket-a001")
    replay = agent.emit("ticket", {"no": "A001"}, event_id="kiosk-ticket-a001")
    assert replay == first
    assert agent.outbox.depth() == 1

    hub.set_online(True)

    await wait_until(lambda: agent.outbox.depth() == 0, what="acknowledged")
    assert hub.seqs("caller-01") == [first.seq]
