"""A real hub for a simulated day, and the HTTP client that plays its hall.

`SimHub` starts a broker on a free port (a private Mosquitto when installed,
else the embedded broker in a thread) and, in a thread of this process, the
whole hub (`central.server.run_hub`: uvicorn, the MQTT bridge, the
hall-state publisher, on a free port), plus a board listener subscribed to
``hall/#`` as a device would be. The simulation reaches the hub only through
HTTP (`HallClient`), signed in as a hall manager (``simulator``) who
acts for every window, as a supervisor may. Only two things bypass HTTP:

- the hub's clock: the hub runs in this process, so the simulation holds it
  at each event's simulated time (`HubClock.hold`) before the request; no
  endpoint can move a hub's clock;
- the nightly close (`close_day`), which is the hub's own job and has no
  endpoint; it runs on the hub's sessions and queue bus, so the boards see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Final

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from anxin.settings import Settings
from broker.contract import Topics
from broker.credentials import mqtt_password
from broker.local import EmbeddedBrokerThread, MosquittoMissing, start_mosquitto
from broker.session import MqttSession
from central.app import create_app
from central.auth.models import Role, User
from central.auth.service import create_user, hash_password
from central.db import upgrade_database
from central.queueing import service
from central.server import run_hub
from central.state import HubState, app_state

log = logging.getLogger(__name__)
# One line per request would drown the day's progress lines.
logging.getLogger("httpx").setLevel(logging.WARNING)

SIM_USER: Final = "simulator"
BOARD_USER: Final = "sim-board"  # a device user: may read hall/#


class HubFailed(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class Refused:
    """A request the hub refused: HTTP status and its Chinese reason."""

    status: int
    detail: str


class BoardListener:
    """Counts what a hall board would receive (retained hall topics)."""

    def __init__(self) -> None:
        self.messages: Counter[str] = Counter()
        self.retained: set[str] = set()
        self._lock = threading.Lock()

    async def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        with self._lock:
            self.messages[topic] += 1
            if payload:
                self.retained.add(topic)
            else:
                self.retained.discard(topic)

    def topics(self, root: str) -> dict[str, int]:
        """Messages per kind of hall topic (calls, window, queue)."""
        out: Counter[str] = Counter()
        with self._lock:
            for topic, n in self.messages.items():
                rest = topic.removeprefix(f"{root}/hall/")
                out[rest.split("/", 1)[0]] += n
        return dict(sorted(out.items()))


class SimHub:
    """Embedded broker + hub + board listener, until `stop`."""

    def __init__(self, settings: Settings, *, own_broker: bool = True) -> None:
        """`own_broker`: start the embedded broker on a free port (a day on its
        own); otherwise join the broker the settings name (the demo's hall,
        where this hub works beside the demo's hub, as ``--workers`` hubs do)."""
        self.own_broker = own_broker
        self.base_settings = settings
        self.settings = settings
        self.url = ""
        self.board = BoardListener()
        self._broker: EmbeddedBrokerThread | None = None
        self._mosquitto: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._app: FastAPI | None = None
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._board_session: MqttSession | None = None

    @property
    def state(self) -> HubState:
        assert self._app is not None
        return app_state(self._app)

    @property
    def topics(self) -> Topics:
        return Topics(self.settings.hall)

    def start(self) -> SimHub:
        secret = self.base_settings.hub.secret_key.get_secret_value()
        mqtt = self.base_settings.mqtt
        if self.own_broker:
            port = self._start_broker(secret)
            mqtt = mqtt.model_copy(
                update={"host": "127.0.0.1", "port": port, "username": None,
                        "password": None, "ca_file": None, "cert_file": None, "key_file": None}
            )  # fmt: skip
        self.settings = self.base_settings.model_copy(
            update={
                "mqtt": mqtt,
                "hub": self.base_settings.hub.model_copy(update={"host": "127.0.0.1", "port": 0}),
            }
        )
        upgrade_database(self.settings)
        self._app = create_app(self.settings)
        ready = threading.Event()
        failed: list[BaseException] = []

        def on_ready(url: str) -> None:
            self.url = url
            ready.set()

        async def main() -> None:
            self._task = asyncio.current_task()
            address = dataclasses.replace(
                self.settings.mqtt.address(),
                username=BOARD_USER,
                password=mqtt_password(secret, BOARD_USER),
            )
            self._board_session = MqttSession(
                client_id=f"{BOARD_USER}-{secrets.token_hex(4)}",
                address=address,
                subscriptions=[(f"{self.topics.root}/hall/#", 1)],
                on_message=self.board.on_message,
            )
            await self._board_session.start()
            try:
                await run_hub(self.settings, ready=on_ready, app=self._app)
            finally:
                await self._board_session.stop()

        def target() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(main())
            except asyncio.CancelledError:
                pass
            except BaseException as exc:  # reported to the starting thread
                failed.append(exc)
                ready.set()

        self._thread = threading.Thread(target=target, name="sim-hub", daemon=True)
        self._thread.start()
        if not ready.wait(60) or failed:
            self.stop()
            raise HubFailed(f"模拟用的中心未能启动：{failed[0] if failed else '超时'}")
        self._wait_mqtt()
        return self

    def _start_broker(self, secret: str) -> int:
        """A private Mosquitto when installed (a process of its own: the day's
        ~30,000 board messages cost this process nothing), else the embedded
        broker in a thread."""
        try:
            workdir = Path(tempfile.mkdtemp(prefix="anxin-sim-mqtt-"))
            self._mosquitto, port = start_mosquitto(workdir)
            self._workdir = workdir
            return port
        except MosquittoMissing:
            self._broker = EmbeddedBrokerThread(hall=self.base_settings.hall, secret=secret)
            return self._broker.port

    def _wait_mqtt(self, within_s: float = 15) -> None:
        async def both() -> None:
            await self.state.bridge.wait_connected(within_s)
            assert self._board_session is not None
            await self._board_session.wait_connected(within_s)

        asyncio.run_coroutine_threadsafe(both(), self._loop).result(within_s + 1)

    def hold_clock(self, at: dt.datetime) -> None:
        self.state.clock.hold(at)

    def close_day(self, day: dt.date, now: dt.datetime) -> None:
        """The nightly close, run by the hub on its own sessions and bus."""
        state = self.state
        with state.sessions() as s:
            service.close_day(
                s, day=day, reason="day_end", bus=state.queue_bus, settings=state.settings, now=now
            )

    def settle(self, within_s: float = 5.0, quiet_s: float = 0.5) -> None:
        """Wait until the board has heard nothing new for `quiet_s` (the
        hall-state publisher has sent what the last changes marked)."""
        deadline = time.monotonic() + within_s
        last = -1
        while time.monotonic() < deadline:
            total = sum(self.board.messages.values())
            if total == last:
                return
            last = total
            time.sleep(quiet_s)

    def client(self) -> HallClient:
        """An HTTP client signed in as the simulation's hall manager."""
        password = secrets.token_urlsafe(18)
        hashed = hash_password(password)  # before the write lock is taken
        with self.state.write_sessions() as s:
            user = s.scalar(select(User).where(User.username == SIM_USER))
            if user is None:
                create_user(
                    s, username=SIM_USER, role=Role.MANAGER, password=password,
                    password_hash=hashed,
                )  # fmt: skip
            else:
                user.password_hash = hashed
                user.active = True
                user.must_change_password = False
            s.commit()
        return HallClient(self.url, SIM_USER, password)

    def stop(self) -> None:
        task = self._task
        if task is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(30)
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
        if self._mosquitto is not None:
            self._mosquitto.terminate()
            self._mosquitto.wait(10)
            self._mosquitto = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> SimHub:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class HallClient:
    """The simulation's hands: the kiosk issuing tickets and the windows' clerks."""

    def __init__(self, url: str, username: str, password: str) -> None:
        # TCP_NODELAY (as the hub sets on its side): a request written in two
        # parts (headers, body) must not wait for a delayed ACK.
        transport = httpx.HTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        )
        self.http = httpx.Client(base_url=url, timeout=60, transport=transport)
        r = self.http.post("/api/v1/auth/login", json={"username": username, "password": password})
        if r.status_code != 200:
            raise HubFailed(f"模拟用户登录失败：{r.status_code} {r.text}")
        self.http.headers["X-CSRF-Token"] = r.json()["csrf_token"]

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any] | Refused:
        r = self.http.post(path, json=body or {})
        if r.status_code >= 400:
            try:
                detail = str(r.json().get("detail"))
            except ValueError:
                detail = r.text
            return Refused(r.status_code, detail)
        out: dict[str, Any] = r.json()
        return out

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params)

    def close(self) -> None:
        self.http.close()
