"""What the queue benchmarks share: a hall of 76 windows built straight into
a fresh database, a PostgreSQL database made for the run, the hub started as
uvicorn worker processes, and an API client signed in as the hall's admin.

The hall is open all day (00:00–23:59, the day changing at midnight) so that
a benchmark runs at any hour on the real clock; the REST API cannot take a
simulated time, and should not. In the last minutes before midnight (hall
time, Asia/Shanghai: 15:3x–16:00 UTC) issuing may rightly be refused by the
closing rule, as the forecast wait passes 23:59; `ticket-throughput` then
reports failures, with their reason under `refusals`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp
import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from anxin.ports import free_port
from anxin.settings import Settings, load_settings
from broker.contract import utcnow
from central.auth.models import Role, User
from central.auth.service import create_user
from central.queueing import service
from central.queueing.models import (
    ClerkService,
    Service,
    ServiceArea,
    TicketEvent,
    Window,
    WindowService,
)
from central.queueing.service import Actor

WINDOWS: Final = 76
SERVICES: Final = ("A", "B", "C", "D", "E", "F")
ADMIN: Final = "benchadmin"
ADMIN_PASSWORD: Final = "Bench-Password-2026!"  # noqa: S105 - a throwaway database
SECRET: Final = "bench-secret"  # noqa: S105
POSTGRES_ENV: Final = "ANXIN_TEST_POSTGRES_URL"
POSTGRES_DEFAULT: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Paths:
    """The routes used (`central.queueing.api`, `central.queueing.citizen`)."""

    login: str = "/api/v1/auth/login"
    issue: str = "/api/v1/queue/tickets"
    next: str = "/api/v1/queue/windows/{n}/next"
    start: str = "/api/v1/queue/windows/{n}/start"
    finish: str = "/api/v1/queue/windows/{n}/finish"
    citizen: str = "/t/{token}/status"


PATHS: Final = Paths()


def service_code(prefix: str) -> str:
    """The benchmark hall's code of the service whose tickets start with `prefix`."""
    return f"svc_{prefix.lower()}"


def bench_settings(database_url: str, data_dir: Path) -> Settings:
    """A benchmark hub's settings: its own database, the day changing at midnight."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return load_settings(
        hall="bench", data_dir=data_dir, hub={"database_url": database_url, "secret_key": "x" * 16},
        queue={"day_rollover": "00:00"},
    )  # fmt: skip


@contextlib.contextmanager
def hall_database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """A freshly migrated database holding the benchmark hall, every window signed in."""
    from central.db import make_engine, make_sessionmaker, upgrade_database

    upgrade_database(settings)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        build_hall(sessions)
        sign_in_windows(sessions, settings, WINDOWS)
        yield sessions
    finally:
        engine.dispose()


def build_hall(sessions: sessionmaker[Session], *, windows: int = WINDOWS) -> None:
    """Services A–F, `windows` windows each serving three of them, one clerk
    per window, the benchmark admin; every window signed in."""
    with sessions() as s:
        area = ServiceArea(code="bench", name="基准测试区", sort=0)
        s.add(area)
        s.flush()
        svc_ids = []
        for prefix in SERVICES:
            svc = Service(
                code=service_code(prefix), name=f"业务{prefix}", area_id=area.id, prefix=prefix,
                number_start=1, number_end=99999, opens_at=dt.time(0, 0),
                closes_at=dt.time(23, 59, 59), avg_handling_s=60,
            )  # fmt: skip
            s.add(svc)
            s.flush()
            svc_ids.append(svc.id)
        create_user(s, username=ADMIN, role=Role.ADMIN, password=ADMIN_PASSWORD)
        for n in range(1, windows + 1):
            win = Window(number=n, name=f"{n}号窗口", area_id=area.id)
            s.add(win)
            s.flush()
            served = [svc_ids[(n + k) % len(svc_ids)] for k in range(3)]
            s.add_all(WindowService(window_id=win.id, service_id=sid, weight=1.0)
                      for sid in served)  # fmt: skip
            # No argon2 for clerks: they are signed in by the admin, never through the web.
            clerk = User(username=f"clerk{n:02d}", password_hash="-",  # noqa: S106 - no login
                         role=Role.CLERK.value, created_at=utcnow())  # fmt: skip
            s.add(clerk)
            s.flush()
            s.add_all(ClerkService(user_id=clerk.id, service_id=sid) for sid in svc_ids)
        s.commit()


def sign_in_windows(sessions: sessionmaker[Session], settings: object, count: int) -> None:
    from anxin.settings import Settings
    from central.queueing.events import QueueBus

    assert isinstance(settings, Settings)
    bus = QueueBus()
    with sessions() as s:
        clerks = {u.username: u.id for u in s.scalars(select(User))}
    for n in range(1, count + 1):
        with sessions() as s:
            service.login(s, window=n, clerk_id=clerks[f"clerk{n:02d}"],
                          actor=Actor(user_id=None, any_window=True), bus=bus,
                          settings=settings)  # fmt: skip


def issue_tokens(sessions: sessionmaker[Session], settings: object, per_service: int) -> list[str]:
    """Tickets issued before the run, whose citizen pages the clients read.

    The issue response has no token (the QR code's secret) yet, so the
    clients cannot read the page of the ticket they just took; these stand in.
    """
    from anxin.settings import Settings
    from central.queueing.events import QueueBus
    from central.queueing.models import Channel

    assert isinstance(settings, Settings)
    bus = QueueBus()
    tokens = []
    for prefix in SERVICES:
        for _ in range(per_service):
            with sessions() as s:
                t = service.issue(s, service=service_code(prefix), channel=Channel.KIOSK,
                                  bus=bus, settings=settings)  # fmt: skip
                tokens.append(t.token)
    return tokens


def double_calls(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """(tickets called, tickets called more than once) from the timelines."""
    with sessions() as s:
        per_ticket = (
            select(TicketEvent.ticket_id, func.count().label("n"))
            .where(TicketEvent.verb.in_(("call", "call_specific")))
            .group_by(TicketEvent.ticket_id)
            .subquery()
        )
        called = s.scalar(select(func.count()).select_from(per_ticket)) or 0
        twice = s.scalar(select(func.count()).select_from(per_ticket).where(per_ticket.c.n > 1))
    return int(called), int(twice or 0)


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for the run, dropped after; None if unreachable."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(os.environ.get(POSTGRES_ENV) or POSTGRES_DEFAULT)
    name = f"anxin_bench_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        yield None
        return
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def hub_env(*, data_dir: Path, database_url: str, mqtt_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "ANXIN_HALL": "bench",
        "ANXIN_DATA_DIR": str(data_dir),
        "ANXIN_HUB__DATABASE_URL": database_url,
        "ANXIN_HUB__SECRET_KEY": SECRET,
        "ANXIN_MQTT__HOST": "127.0.0.1",
        "ANXIN_MQTT__PORT": str(mqtt_port),
        "ANXIN_QUEUE__DAY_ROLLOVER": "00:00",
        "ANXIN_NOTIFY__GATEWAY": "none",
        "ANXIN_LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def hub_process(env: dict[str, str], *, workers: int, log: Path) -> Iterator[str]:
    """The hub as `anxin hub --workers N`; yields its URL."""
    port = free_port()
    args = [sys.executable, "-m", "anxin", "hub", "--workers", str(workers)]
    env = {**env, "ANXIN_HUB__HOST": "127.0.0.1", "ANXIN_HUB__PORT": str(port)}
    with _served(args, env, port, log) as url:
        yield url


@contextlib.contextmanager
def null_hub_process(
    *,
    workers: int,
    log: Path,
    mqtt_port: int | None = None,
    app: str = "bench.nullhub:app",
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`bench.nullhub` (the same routes doing no work), or another of the
    baselines' `app`, under uvicorn with `workers` processes, served as the
    hub is, publishing board topics to the broker on `mqtt_port` if given;
    yields its URL."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--log-level", "warning",
            "--no-access-log"]  # fmt: skip
    env = {**os.environ, **(env or {})}
    if mqtt_port is not None:
        env["ANXIN_BENCH_NULL_MQTT_PORT"] = str(mqtt_port)
    with _served(args, env, port, log) as url:
        yield url


@contextlib.contextmanager
def _served(args: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """Run an HTTP server process until it answers /healthz; stop it afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the hub exited; see {log}: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start; see {log}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.asynccontextmanager
async def api_session(url: str, *, connections: int) -> AsyncIterator[aiohttp.ClientSession]:
    """A lean load generator's client, signed in as the admin.

    aiohttp, not httpx: the load generator shares the two cores with the hub,
    and httpx spent about 1.5 ms of CPU per request, a fifth of what the
    benchmark is meant to measure. Keep-alive connections, Nagle off (aiohttp's
    default), and a cookie jar that accepts the hub's cookie on an IP address.
    """
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    jar = aiohttp.CookieJar(unsafe=True)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        base_url=url, connector=connector, cookie_jar=jar, timeout=timeout
    ) as session:
        async with session.post(
            PATHS.login, json={"username": ADMIN, "password": ADMIN_PASSWORD}
        ) as r:
            r.raise_for_status()
            csrf = (await r.json())["csrf_token"]
        session.headers["X-CSRF-Token"] = csrf
        yield session


async def signed_in(client: httpx.AsyncClient) -> None:
    """Sign the client in as the admin and send its CSRF token from now on."""
    r = await client.post(PATHS.login, json={"username": ADMIN, "password": ADMIN_PASSWORD})
    r.raise_for_status()
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
