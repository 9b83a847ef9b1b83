"""One MQTT session over paho-mqtt 2.x, shared by the hub bridge and every device.

paho's network loop runs in a thread of ours (so that reconnects follow our
randomised backoff, not paho's fixed doubling); its callbacks only hand the
message to the asyncio loop with ``call_soon_threadsafe`` and never block.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerAddress:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    keepalive_s: int = 10


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog): after a
    broker restart, a hall of devices spreads its reconnects over the window
    instead of arriving at once."""

    base_s: float = 0.5
    cap_s: float = 30.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * (2**self.attempt))
        self.attempt += 1
        return self.rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


InboundHandler = Callable[[str, bytes, bool], Awaitable[None] | None]
ConnectHook = Callable[[], Awaitable[None] | None]


class MqttSession:
    """An MQTT client bound to an asyncio loop.

    ``on_message(topic, payload, retained)`` and ``on_connect()`` run on the
    loop. ``will_factory`` is called before every connection attempt so that a
    will can carry a fresh per-connection counter.
    """

    def __init__(
        self,
        *,
        client_id: str,
        address: BrokerAddress,
        subscriptions: list[tuple[str, int]],
        on_message: InboundHandler,
        on_connect: ConnectHook | None = None,
        on_disconnect: ConnectHook | None = None,
        will_factory: Callable[[], Will] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.client_id = client_id
        self.address = address
        self.subscriptions = subscriptions
        self._on_message = on_message
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._will_factory = will_factory
        self.backoff = backoff or Backoff()
        self.connected = asyncio.Event()
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = self._make_client()
        self._inbox: asyncio.Queue[tuple[str, bytes, bool]]
        self._consumer: asyncio.Task[None]
        self._tasks: set[asyncio.Task[None]] = set()

    def _make_client(self) -> mqtt.Client:
        c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,  # the embedded broker speaks 3.1.1 only
        )
        a = self.address
        if a.username:
            c.username_pw_set(a.username, a.password)
        if a.ca_file:
            c.tls_set(
                ca_certs=a.ca_file,
                certfile=a.cert_file,
                keyfile=a.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        c.on_connect = self._paho_connect
        c.on_disconnect = self._paho_disconnect
        c.on_message = self._paho_message
        return c

    # --- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._inbox = asyncio.Queue()
        self._consumer = asyncio.create_task(self._consume())
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._network_loop, name=f"mqtt-{self.client_id}", daemon=True
        )
        self._thread.start()

    async def wait_connected(self, within_s: float) -> None:
        await asyncio.wait_for(self.connected.wait(), within_s)

    async def stop(self, *, final: tuple[str, bytes] | None = None) -> None:
        """Disconnect cleanly; `final` is published (retained, QoS 1) first,
        e.g. an explicit offline status, since a clean disconnect sends no will."""
        if final is not None and self.connected.is_set():
            info = self._client.publish(final[0], final[1], qos=1, retain=True)
            await asyncio.to_thread(info.wait_for_publish, 2.0)
        self._stop.set()
        self._client.disconnect()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)
        self.connected.clear()
        self._consumer.cancel()

    # --- publishing (thread-safe in paho) ------------------------------------

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> bool:
        """Queue a message; False when not connected (the caller keeps it)."""
        if not self.connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    # --- the network thread ---------------------------------------------------

    def _network_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self._will_factory is not None:
                    w = self._will_factory()
                    self._client.will_set(w.topic, w.payload, qos=w.qos, retain=w.retain)
                a = self.address
                self._client.connect(a.host, a.port, keepalive=a.keepalive_s)
                self._no_delay()
            except (OSError, ssl.SSLError) as exc:
                delay = self.backoff.next_delay()
                log.info("mqtt %s: connect failed (%s); retry in %.2fs", self.client_id, exc, delay)
                self._stop.wait(delay)
                continue
            rc = MQTTErrorCode.MQTT_ERR_SUCCESS
            while not self._stop.is_set() and rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                rc = self._client.loop(timeout=0.2)
            if self._stop.is_set():
                # Let paho flush the DISCONNECT packet.
                for _ in range(5):
                    if self._client.loop(timeout=0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                        break
                break
            self._client.disconnect()  # paho needs this to reset its socket before reconnect
            delay = self.backoff.next_delay()
            log.info("mqtt %s: connection lost (%s); retry in %.2fs", self.client_id, rc, delay)
            self._stop.wait(delay)

    def _no_delay(self) -> None:
        # Commands and results are small and latency-bound: without TCP_NODELAY,
        # Nagle's algorithm and delayed ACKs add ~40-90 ms to a round trip.
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # paho callbacks: run on the network thread, so only hand over to the loop.

    def _paho_connect(
        self,
        client: mqtt.Client,
        _ud: Any,
        _flags: Any,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning("mqtt %s: connection refused: %s", self.client_id, reason)
            return
        self.backoff.reset()
        self.connections += 1
        if self.subscriptions:
            client.subscribe(self.subscriptions)
        self._call_soon(self._connected)

    def _paho_disconnect(
        self,
        _client: mqtt.Client,
        _ud: Any,
        _flags: Any,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        self._call_soon(self._disconnected)

    def _paho_message(self, _client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        self._call_soon(self._deliver, msg.topic, bytes(msg.payload), bool(msg.retain))

    def _call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    # on the asyncio loop ------------------------------------------------------

    def _connected(self) -> None:
        self.connected.set()
        if self._on_connect is not None:
            self._spawn(self._on_connect())

    def _disconnected(self) -> None:
        self.connected.clear()
        if self._on_disconnect is not None:
            self._spawn(self._on_disconnect())

    def _deliver(self, topic: str, payload: bytes, retained: bool) -> None:
        # One consumer keeps messages in arrival order (an outbox replays in order).
        self._inbox.put_nowait((topic, payload, retained))

    async def _consume(self) -> None:
        while True:
            topic, payload, retained = await self._inbox.get()
            try:
                result = self._on_message(topic, payload, retained)
                if result is not None:
                    await result
            except Exception:
                log.exception("mqtt %s: handler failed for %s", self.client_id, topic)

    def _spawn(self, result: Awaitable[None] | None) -> None:
        if result is None:
            return

        async def run() -> None:
            try:
                await result
            except Exception:
                log.exception("mqtt %s: handler failed", self.client_id)

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
