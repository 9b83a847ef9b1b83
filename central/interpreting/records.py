"""Writes of the interpreter service, applied in order by one task.

The ACD decides on the event loop and must never wait for the database; it
hands each record here as a small function of a session. One task applies
them in order in a worker thread (one transaction per batch), so the rows
always tell the story in the order it happened.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from central.interpreting.models import InterpEvent, InterpOffer, InterpRequest

log = logging.getLogger(__name__)

Write = Callable[[Session], None]


class Recorder:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._queue: asyncio.Queue[Write] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="interpreting-recorder")

    async def stop(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()

    async def flush(self) -> None:
        """Wait until every record handed in so far is committed."""
        if self._queue is not None:
            await self._queue.join()

    def put(self, write: Write) -> None:
        if self._queue is None:
            # A device event can come in between the bridge's start and ours:
            # it waits here and is written once the recorder runs.
            self._queue = asyncio.Queue()
        self._queue.put_nowait(write)

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await asyncio.to_thread(self._apply, batch)
            except Exception:
                log.exception("interpreting records: a batch of %d failed", len(batch))
            finally:
                for _ in batch:
                    queue.task_done()

    def _apply(self, batch: list[Write]) -> None:
        try:
            with self._sessions() as session:
                for write in batch:
                    write(session)
                    session.flush()
                session.commit()
            return
        except Exception:
            log.warning("interpreting batch failed; retrying one by one", exc_info=True)
        for write in batch:
            try:
                with self._sessions() as session:
                    write(session)
                    session.commit()
            except Exception:
                log.exception("interpreting record lost: %r", write)

    # --- the records ---------------------------------------------------------------

    def event(
        self,
        kind: str,
        at: dt.datetime,
        *,
        request_id: str | None = None,
        interpreter_id: int | None = None,
        **detail: Any,
    ) -> None:
        self.put(
            lambda s: s.add(
                InterpEvent(
                    at=at,
                    kind=kind,
                    request_id=request_id,
                    interpreter_id=interpreter_id,
                    detail=detail,
                )
            )
        )

    def requested(self, row: InterpRequest) -> None:
        self.put(lambda s: s.add(row))
        self.event("requested", row.requested_at, request_id=row.id, terminal=row.terminal)

    def offered(self, request_id: str, interpreter_id: int, at: dt.datetime) -> None:
        self.put(
            lambda s: s.add(
                InterpOffer(request_id=request_id, interpreter_id=interpreter_id, offered_at=at)
            )
        )
        self.event("offered", at, request_id=request_id, interpreter_id=interpreter_id)

    def offer_result(
        self, request_id: str, interpreter_id: int, result: str, at: dt.datetime
    ) -> None:
        def write(s: Session) -> None:
            s.execute(
                update(InterpOffer)
                .where(
                    InterpOffer.request_id == request_id,
                    InterpOffer.interpreter_id == interpreter_id,
                    InterpOffer.result.is_(None),
                )
                .values(result=result, result_at=at)
            )

        self.put(write)
        if result != "accepted":  # an accepted offer is the "answered" event
            self.event(result, at, request_id=request_id, interpreter_id=interpreter_id)

    def update_request(
        self,
        request_id: str,
        kind: str,
        at: dt.datetime,
        *,
        actor: int | None = None,
        **values: Any,
    ) -> None:
        """Change the request row and log `kind` (by `actor`) with the same values."""

        def write(s: Session) -> None:
            s.execute(update(InterpRequest).where(InterpRequest.id == request_id).values(**values))

        self.put(write)
        interpreter_id = actor if actor is not None else values.get("interpreter_id")
        detail = {
            k: v for k, v in values.items() if k in ("end_reason", "outcome", "note", "state")
        }
        self.event(kind, at, request_id=request_id, interpreter_id=interpreter_id, **detail)


def close_orphans(session: Session, now: dt.datetime) -> int:
    """At start-up: requests left open by a previous hub process are over
    (their sockets died with it). Waiting ones count as abandoned."""
    rows = list(
        session.scalars(
            select(InterpRequest).where(InterpRequest.state.in_(("waiting", "connected")))
        )
    )
    for row in rows:
        if row.state == "waiting":
            row.state, row.abandoned_at = "abandoned", now
        else:
            row.state, row.ended_at = "ended", now
        row.end_reason = "中心重启"
        session.add(InterpEvent(at=now, kind="orphaned", request_id=row.id, detail={}))
    for offer in session.scalars(select(InterpOffer).where(InterpOffer.result.is_(None))):
        offer.result, offer.result_at = "withdrawn", now
    return len(rows)
