"""A small hall built directly through the models, and short verbs for tests.

`Hall` owns a migrated database (SQLite or PostgreSQL), a bus and a clock
frozen at a weekday morning in Xi'an; every verb helper passes them, so a
test reads like what happens at the counter: ``hall.login(1, clerk)``,
``hall.next(1)``, ``hall.start(1)``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from central.auth.models import Role, User
from central.db import make_engine, make_sessionmaker, upgrade_database
from central.queueing import service
from central.queueing.events import QueueBus, QueueChange
from central.queueing.models import (
    Channel,
    ClerkService,
    FairnessEntry,
    Priority,
    Service,
    ServiceArea,
    Ticket,
    TicketEvent,
    Window,
    WindowService,
    WindowState,
)
from central.queueing.service import Actor, Outcome
from tests.central.conftest import hub_settings

T = TypeVar("T")
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 1 December 2026, 10:00 in Xi'an.
MORNING = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
SUPERVISOR = Actor(user_id=None, any_window=True)


@dataclass
class Hall:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    bus: QueueBus = field(default_factory=QueueBus)
    now: dt.datetime = MORNING
    changes: list[QueueChange] = field(default_factory=list)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.bus.on_commit(self.changes.append)

    # --- the clock ------------------------------------------------------------------

    def tick(self, seconds: float = 1.0) -> dt.datetime:
        self.now = self.now + dt.timedelta(seconds=seconds)
        return self.now

    # --- configuration -----------------------------------------------------------------

    def db(self, fn: Callable[[Session], T]) -> T:
        with self.sessions() as s:
            value = fn(s)
            s.commit()
            return value

    def area(self, code: str = "zonghe", name: str = "综合窗口区") -> int:
        def make(s: Session) -> int:
            found = s.scalar(select(ServiceArea.id).where(ServiceArea.code == code))
            if found is not None:
                return found
            area = ServiceArea(code=code, name=name, sort=0)
            s.add(area)
            s.flush()
            return area.id

        return self.db(make)

    def service(self, code: str, prefix: str, name: str | None = None, **kw: Any) -> int:
        area = self.area()
        values: dict[str, Any] = {
            "opens_at": dt.time(8, 30),
            "closes_at": dt.time(17, 30),
            "avg_handling_s": 600,
            "number_start": 1,
            "number_end": 999,
            **kw,
        }

        def make(s: Session) -> int:
            svc = Service(code=code, name=name or code, area_id=area, prefix=prefix, **values)
            s.add(svc)
            s.flush()
            return svc.id

        return self.db(make)

    def window(self, number: int, services: dict[str, float]) -> int:
        area = self.area()

        def make(s: Session) -> int:
            win = Window(number=number, name=f"{number}号窗口", area_id=area)
            s.add(win)
            s.flush()
            for code, weight in services.items():
                sid = s.scalar(select(Service.id).where(Service.code == code))
                s.add(WindowService(window_id=win.id, service_id=sid, weight=weight))
            return win.id

        return self.db(make)

    def clerk(self, username: str, services: list[str]) -> int:
        def make(s: Session) -> int:
            # No argon2 here: these clerks never sign in through the web.
            user = User(
                username=username, password_hash="-", role=Role.CLERK.value, created_at=MORNING
            )
            s.add(user)
            s.flush()
            for code in services:
                sid = s.scalar(select(Service.id).where(Service.code == code))
                s.add(ClerkService(user_id=user.id, service_id=sid))
            return user.id

        return self.db(make)

    # --- verbs (the clock advances one second per verb unless `now` is given) -----------

    def _kw(self, now: dt.datetime | None) -> dict[str, Any]:
        return {"bus": self.bus, "settings": self.settings, "now": now or self.tick()}

    def issue(self, code: str, *, now: dt.datetime | None = None, **kw: Any) -> Ticket:
        kw.setdefault("channel", Channel.KIOSK)
        with self.sessions() as s:
            return service.issue(s, service=code, **self._kw(now), **kw)

    def verb(
        self,
        name: str,
        window: int,
        *,
        actor: Actor = SUPERVISOR,
        now: dt.datetime | None = None,
        **kw: Any,
    ) -> Outcome:
        fn = getattr(service, name)
        with self.sessions() as s:
            out: Outcome = fn(s, window=window, actor=actor, **self._kw(now), **kw)
            return out

    def login(self, window: int, clerk: int, **kw: Any) -> Outcome:
        return self.verb("login", window, clerk_id=clerk, **kw)

    def next(self, window: int, **kw: Any) -> Outcome:
        return self.verb("call_next", window, **kw)

    def start(self, window: int, **kw: Any) -> Outcome:
        return self.verb("start", window, **kw)

    def finish(self, window: int, outcome: str = "completed", **kw: Any) -> Outcome:
        return self.verb("finish", window, outcome=outcome, **kw)

    def close(self, day: dt.date | None = None, reason: str = "day_end") -> int:
        with self.sessions() as s:
            return service.close_day(s, day=day or self.day, reason=reason, **self._kw(None))

    @property
    def day(self) -> dt.date:
        return self.now.astimezone(SHANGHAI).date()

    # --- looking -----------------------------------------------------------------------

    def ticket(self, ticket_id: int) -> Ticket:
        return self.db(lambda s: s.get(Ticket, ticket_id))  # type: ignore[return-value]

    def events(self, ticket_id: int) -> list[TicketEvent]:
        return self.db(lambda s: service.timeline(s, ticket_id))

    def window_state(self, window: int) -> WindowState:
        def get(s: Session) -> WindowState:
            wid = s.scalar(select(Window.id).where(Window.number == window))
            st = s.get(WindowState, wid)
            assert st is not None
            return st

        return self.db(get)

    def fairness(self) -> list[FairnessEntry]:
        return self.db(lambda s: list(s.scalars(select(FairnessEntry).order_by(FairnessEntry.id))))

    def snapshot(self) -> dict[str, Any]:
        """Every row of the queue's changing tables, to prove a refusal changed nothing."""

        def take(s: Session) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for model in (Ticket, TicketEvent, WindowState, FairnessEntry):
                rows = s.scalars(select(model)).all()
                cols = [c.key for c in model.__mapper__.column_attrs]
                out[model.__name__] = sorted(tuple(str(getattr(r, c)) for c in cols) for r in rows)
            out["count"] = s.scalar(select(func.count()).select_from(Ticket))
            return out

        return self.db(take)


@contextmanager
def make_hall(database_url: str, tmp_path: Path, **queue: Any) -> Iterator[Hall]:
    settings = hub_settings(database_url=database_url, tmp_path=tmp_path)
    if queue:
        settings = settings.model_copy(update={"queue": settings.queue.model_copy(update=queue)})
    upgrade_database(settings)
    engine = make_engine(database_url)
    try:
        yield Hall(settings, engine, make_sessionmaker(engine))
    finally:
        engine.dispose()


__all__ = ["MORNING", "SUPERVISOR", "Hall", "Priority", "make_hall"]
