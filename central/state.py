"""Everything one hub app owns, reached through a typed accessor.

`create_app` builds a `HubState` and stores it on ``app.state``; routes get
it with `StateDep` instead of reading untyped attributes of ``request.app``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.templating import Jinja2Templates
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from central.auth.staffcache import StaffCache
from central.db import make_sessionmaker
from central.devices.bridge import HubBridge
from central.metrics import HubMetrics
from central.queueing.clock import HubClock
from central.queueing.events import QueueBus

_KEY = "anxin_hub"


@dataclass(frozen=True)
class HubState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    metrics: HubMetrics
    bridge: HubBridge
    templates: Jinja2Templates
    # Listeners of queue changes (notification outbox, hall-state publisher).
    queue_bus: QueueBus = field(default_factory=QueueBus)
    # "Now" for the API and pages; a test or simulation may move it.
    clock: HubClock = field(default_factory=HubClock)
    # Rate-limit counters of this hub process (public ticketing).
    rate_limits: MovingWindowRateLimiter = field(
        default_factory=lambda: MovingWindowRateLimiter(MemoryStorage())
    )

    @cached_property
    def staff(self) -> StaffCache:
        """Signed-in staff of the hot queue routes, cached for seconds."""
        return StaffCache(self.sessions)

    @cached_property
    def write_sessions(self) -> sessionmaker[Session]:
        """Sessions whose transactions take SQLite's write lock at once
        (``BEGIN IMMEDIATE``); the same as `sessions` on PostgreSQL."""
        return make_sessionmaker(self.engine, immediate=True)

    @cached_property
    def read_sessions(self) -> sessionmaker[Session]:
        """Sessions for pages that only read (autocommit on PostgreSQL; see
        `make_sessionmaker`); the same as `sessions` on SQLite."""
        return make_sessionmaker(self.engine, reads_only=True)


def attach_state(app: FastAPI, state: HubState) -> None:
    setattr(app.state, _KEY, state)


def app_state(app: FastAPI) -> HubState:
    state = getattr(app.state, _KEY, None)
    if not isinstance(state, HubState):
        raise RuntimeError("this app was not made by central.app.create_app")
    return state


async def hub_state(request: Request) -> HubState:
    # Async: a sync dependency costs a thread-pool round trip in every request.
    app = request.app
    assert isinstance(app, FastAPI)
    return app_state(app)


StateDep = Annotated[HubState, Depends(hub_state)]
