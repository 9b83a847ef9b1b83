"""Keeps the retained ``hall/matters`` manifest in step with the published library.

Publication happens in a web request or in the `anxin matters publish`
command, possibly while the hub runs in another process; the database's
library revision is the truth. A task reads that one number every
``interval_s`` seconds and, when it changed, builds the library JSON, hashes
it and publishes the manifest (`HallMatters`). On every (re)connection of the
hub the manifest is published again, since a broker without persistence
forgets retained messages. Devices fetch the JSON itself from
``/api/v1/matters/library.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from broker.contract import HallMatters, Topics, encode
from central.devices.bridge import HubBridge
from central.matters import service

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], bool]


def manifest(file: service.LibraryFile) -> HallMatters:
    return HallMatters(
        revision=file.revision,
        sha256=file.sha256,
        size=len(file.body),
        matters=file.matters,
        demo=file.demo,
        url=service.LIBRARY_URL,
        published_at=file.published_at,
    )


class MattersOutlet:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        topics: Topics,
        publish: Publish,
        interval_s: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._topics = topics
        self._publish = publish
        self._interval_s = interval_s
        self._sent: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def attach(cls, bridge: HubBridge, sessions: sessionmaker[Session]) -> MattersOutlet:
        """An outlet publishing through the hub's bridge, republishing on every connection."""
        outlet = cls(
            sessions=sessions,
            topics=bridge.topics,
            publish=lambda topic, payload: bridge.mqtt.publish(topic, payload, qos=1, retain=True),
        )
        bridge.on_connected.append(outlet.republish)
        return outlet

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="matters-manifest")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def republish(self) -> None:
        """Publish the manifest again at once (on connection; after a publication)."""
        self._sent = None
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while True:
            try:
                await self._round()
            except Exception:
                log.exception("matter library manifest publishing failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)
            self._wake.clear()

    async def _round(self) -> None:
        revision = await asyncio.to_thread(self._read_revision)
        if revision == 0 or revision == self._sent:
            return
        file = await asyncio.to_thread(self._read_file)
        if self._publish(self._topics.hall_matters(), encode(manifest(file))):
            self._sent = file.revision

    def _read_revision(self) -> int:
        with self._sessions() as session:
            return service.revision(session)

    def _read_file(self) -> service.LibraryFile:
        with self._sessions() as session:
            return service.library_file(session)
