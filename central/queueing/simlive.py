"""`anxin simulate live`: the demo's hall, busy all the time.

Plays simulated days one after another at `speed` (1 = real time: with
3,000 visitors a day that is a few visitors a minute), so the boards, the
citizen pages and the reports of `make demo` show a hall at work at any
hour. The day played is today's operating day; during opening hours the
simulated clock is the real one, otherwise it starts at 09:00 (or where an
earlier run of today stopped). When a day ends the next one starts at once.

Every action goes through HTTP to a hub of the hall's own (`simhub.SimHub`
without its own broker): a second hub process's worth on the same database
and broker as the demo's hub, as ``anxin hub --workers N`` runs them, whose
clock follows the simulated time. Its hall-state publisher publishes the
board topics from database snapshots, like any hub's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.settings import Settings
from broker.contract import utcnow
from central.queueing.clock import operating_day
from central.queueing.models import Ticket, TicketState, Window, WindowState
from central.queueing.simhub import HallClient, SimHub
from central.queueing.simrun import play_day, prepare
from central.queueing.simulate import LAST_ARRIVAL

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


def live_start(
    settings: Settings, session: Session, now: dt.datetime
) -> tuple[dt.date, dt.datetime]:
    """The day and the moment the live simulation starts playing at `now`
    (the demo also starts its hub's clock there, so both agree)."""
    zone = ZoneInfo(settings.queue.timezone)
    day = operating_day(now, settings.queue)
    while True:
        start_at = start_of_play(session, day, now, zone)
        if start_at.astimezone(zone).time() < LAST_ARRIVAL:
            return day, start_at
        day += dt.timedelta(days=1)


def release_windows(hub: SimHub, client: HallClient, now: dt.datetime) -> None:
    """Finish what an earlier run left at the windows, so every window can call again."""
    with hub.state.sessions() as s:
        held = s.execute(
            select(Window.number, Ticket.state)
            .join(WindowState, WindowState.window_id == Window.id)
            .join(Ticket, Ticket.id == WindowState.current_ticket_id)
        ).all()
    hub.hold_clock(now)
    for number, state in held:
        if state == TicketState.CALLED.value:
            client.post(f"/api/v1/queue/windows/{number}/start")
        client.post(f"/api/v1/queue/windows/{number}/finish", {"outcome": "completed"})


async def run_live(
    settings: Settings, *, hall: str, speed: float, visitors: int, seed: int
) -> None:
    engine, _sessions = await asyncio.to_thread(prepare, settings, hall)
    engine.dispose()
    zone = ZoneInfo(settings.queue.timezone)
    hub = await asyncio.to_thread(SimHub(settings, own_broker=False).start)
    client = await asyncio.to_thread(hub.client)
    stop = threading.Event()
    try:
        with hub.state.sessions() as s:
            day, start_at = live_start(settings, s, utcnow())
        while not stop.is_set():
            await asyncio.to_thread(release_windows, hub, client, start_at)
            log.info("live simulation: %s from %s at %gx", day, start_at.astimezone(zone), speed)

            def progress(line: str) -> None:
                log.info("%s", line)

            report = await asyncio.to_thread(
                play_day, settings, hub=hub, client=client, day=day, visitors=visitors,
                speed=speed, seed=seed + day.toordinal(), progress=progress, stop=stop,
                start_at=start_at,
            )  # fmt: skip
            for line in report.lines():
                log.info("%s", line)
            day += dt.timedelta(days=1)
            with hub.state.sessions() as s:
                start_at = start_of_play(s, day, utcnow(), zone)
    finally:
        stop.set()
        await asyncio.to_thread(client.close)
        await asyncio.to_thread(hub.stop)
