"""What the queue tells the world, wired to one hub: the retained hall-state
topics (`hallstate`) and the SMS outbox (`notify`).

`create_app` builds one `QueueOutlets`, registers it on the queue bus and
the bridge, and starts and stops it with the hub.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from central.devices.bridge import HubBridge
from central.queueing.clock import HubClock, operating_day
from central.queueing.events import QueueBus, QueueChange
from central.queueing.hallstate import HallStatePublisher
from central.queueing.notify import NotificationQueuer, NotificationWorker


class QueueOutlets:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        read_sessions: sessionmaker[Session],
        bridge: HubBridge,
        bus: QueueBus,
        clock: HubClock,
    ) -> None:
        # The publisher only reads: on PostgreSQL in autocommit, with no
        # ROLLBACK after each read (psycopg forgets the connection's prepared
        # statements at every ROLLBACK, and the verbs' share that pool).
        self.hallstate = HallStatePublisher(
            sessions=read_sessions,
            topics=bridge.topics,
            publish=lambda topic, payload: bridge.mqtt.publish(topic, payload, qos=1, retain=True),
            today=lambda: operating_day(clock.now(), settings.queue),
            clock=clock.now,
        )
        self.queuer = NotificationQueuer(signature=settings.notify.signature)
        self.worker = NotificationWorker.from_settings(settings, sessions)
        self._loop: asyncio.AbstractEventLoop | None = None
        bus.on_transition(self.queuer)
        bus.on_commit(self.hallstate.on_commit)
        bus.on_commit(self._poke_worker)
        bridge.on_connected.append(self.hallstate.publish_everything)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.hallstate.start()
        if self.worker is not None:
            await self.worker.start()

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        await self.hallstate.stop()

    def _poke_worker(self, change: QueueChange) -> None:
        # A called citizen should get the SMS now, not at the next poll.
        if not change.notified:
            return
        if self.worker is not None and self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self.worker.poke)
