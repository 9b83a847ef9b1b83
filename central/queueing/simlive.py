"""`anxin simulate live`: the demo's hall, busy all the time.

Plays simulated days one after another at `speed` (1 = real time: with
3,000 visitors a day that is a few visitors a minute), so the boards, the
citizen pages and the reports of `make demo` show a hall at work at any
hour. The day played is today's operating day; during opening hours the
simulated clock is the real one, otherwise it starts at 09:00 (or where an
earlier run of today stopped). When a day ends the next one starts at once.

The verbs run in this process (the service layer, with the simulated time
as ``now``), so the hub's own hall-state publisher does not see them; this
process therefore publishes the retained hall topics itself, as the hub
user, from the same database snapshots (`hallstate.HallStatePublisher`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from broker.contract import Topics, new_id, utcnow
from broker.session import MqttSession
from central.devices.bridge import hub_address
from central.queueing import service
from central.queueing.clock import operating_day
from central.queueing.events import QueueBus
from central.queueing.hallstate import HallStatePublisher
from central.queueing.models import Ticket, TicketState, Window, WindowState
from central.queueing.simrun import play_day, prepare
from central.queueing.simulate import LAST_ARRIVAL, SUPERVISOR

log = logging.getLogger(__name__)

OPENS = dt.time(9, 0)


def start_of_play(session: Session, day: dt.date, now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Now during opening hours, else 09:00 or just after today's last ticket."""
    opens = dt.datetime.combine(day, OPENS, zone).astimezone(dt.UTC)
    closes = dt.datetime.combine(day, LAST_ARRIVAL, zone).astimezone(dt.UTC)
    if opens <= now < closes:
        return now
    last = session.scalar(select(func.max(Ticket.issued_at)).where(Ticket.day == day))
    return opens if last is None else max(opens, last + dt.timedelta(minutes=1))


def release_windows(
    sessions: sessionmaker[Session], settings: Settings, bus: QueueBus, now: dt.datetime
) -> None:
    """Finish what an earlier run left at the windows, so every window can call again."""
    with sessions() as s:
        held = s.execute(
            select(Window.number, Ticket.state)
            .join(WindowState, WindowState.window_id == Window.id)
            .join(Ticket, Ticket.id == WindowState.current_ticket_id)
        ).all()
    for number, state in held:
        kw = {"window": number, "actor": SUPERVISOR, "bus": bus, "settings": settings, "now": now}
        with sessions() as s:
            if state == TicketState.CALLED.value:
                service.start(s, **kw)  # type: ignore[arg-type]
        with sessions() as s:
            service.finish(s, outcome="completed", **kw)  # type: ignore[arg-type]


async def run_live(
    settings: Settings, *, hall: str, speed: float, visitors: int, seed: int
) -> None:
    engine, sessions = await asyncio.to_thread(prepare, settings, hall)
    zone = ZoneInfo(settings.queue.timezone)
    topics = Topics(settings.hall)
    bus = QueueBus()
    clock: dict[str, dt.datetime] = {"now": utcnow()}
    day_box: dict[str, dt.date] = {"day": operating_day(utcnow(), settings.queue)}

    async def ignore(_topic: str, _payload: bytes, _retained: bool) -> None:
        return None

    mqtt = MqttSession(
        client_id=f"anxin-sim-{settings.hall}-{new_id()[:8]}",
        address=hub_address(settings),
        subscriptions=[],
        on_message=ignore,
    )
    publisher = HallStatePublisher(
        sessions=sessions, topics=topics,
        publish=lambda topic, payload: mqtt.publish(topic, payload, qos=1, retain=True),
        today=lambda: day_box["day"], clock=lambda: clock["now"],
    )  # fmt: skip
    bus.on_commit(publisher.on_commit)
    # The boards' estimates are computed at the simulated time of the latest change.
    bus.on_transition(lambda _s, _t, event: clock.update(now=event.at))
    stop = threading.Event()
    await mqtt.start()
    await publisher.start()
    try:
        day = day_box["day"]
        while not stop.is_set():
            with sessions() as s:
                start_at = start_of_play(s, day, utcnow(), zone)
            if start_at.astimezone(zone).time() >= LAST_ARRIVAL:
                day += dt.timedelta(days=1)
                continue
            day_box["day"] = day
            await asyncio.to_thread(release_windows, sessions, settings, bus, start_at)
            publisher.publish_everything()
            log.info("live simulation: %s from %s at %gx", day, start_at.astimezone(zone), speed)

            def progress(line: str) -> None:
                log.info("%s", line)

            report = await asyncio.to_thread(
                play_day, settings, sessions, day=day, visitors=visitors, speed=speed,
                seed=seed + day.toordinal(), bus=bus, progress=progress, stop=stop,
                start_at=start_at,
            )  # fmt: skip
            for line in report.lines():
                log.info("%s", line)
            day += dt.timedelta(days=1)
    finally:
        stop.set()
        await publisher.stop()
        await mqtt.stop()
        engine.dispose()
