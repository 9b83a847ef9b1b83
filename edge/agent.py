"""The edge agent every device runs: one MQTT session and everything around it.

Birth and death follow Sparkplug B: every connection attempt bumps a counter
kept in the device journal; the will carries it as ``offline`` and the birth
as ``online``. A will from an older connection that lands after our birth
(the broker noticed the old socket late) is answered with a new birth, so the
retained status ends ``online``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import sdnotify
from pydantic import BaseModel

from anxin import heap
from anxin.settings import Settings
from broker.contract import (
    MAX_PAYLOAD_BYTES,
    Channel,
    Command,
    CommandResult,
    DeviceConfig,
    DeviceKind,
    DeviceState,
    DeviceStatus,
    Event,
    EventAck,
    HallState,
    Health,
    HubStatus,
    Message,
    Payload,
    Rejected,
    ResultStatus,
    Topics,
    decode,
    encode,
    new_id,
)
from broker.session import Backoff, BrokerAddress, MqttSession, Will
from edge.builtins import register_builtins
from edge.commands import CommandDispatcher, HandlerResult
from edge.courier import Courier
from edge.docstore import ConfigStore
from edge.durable import DurableDb
from edge.health import SystemProbe, software_version
from edge.journal import Journal
from edge.kinds.base import KindSpec
from edge.outbox import Outbox
from edge.ports.factory import Ports

log = logging.getLogger(__name__)

A = TypeVar("A", bound=BaseModel)


class DeviceAgent:
    """One device: session, birth/will, heartbeat, commands, outbox, config.

    Build it with `edge.runner.make_agent`; `start()` and `stop()` (or
    `run()`, which stops when cancelled) must be called on the event loop.
    """

    def __init__(
        self,
        *,
        device_id: str,
        spec: KindSpec,
        topics: Topics,
        address: BrokerAddress,
        data_dir: Path,
        ports: Ports,
        heartbeat_s: float = 5.0,
        resend_s: float = 5.0,
        probe: SystemProbe | None = None,
        version: str | None = None,
        backoff: Backoff | None = None,
        hold_db_open: bool = True,
        settings: Settings | None = None,
    ) -> None:
        self._id = device_id
        self.settings = settings
        """The settings the device was built from (None when built by hand)."""
        self.spec = spec
        self.topics = topics
        self.data_dir = data_dir
        self._ports = ports
        self.heartbeat_s = heartbeat_s
        # sd_notify(3) when systemd runs the agent (Type=notify, WatchdogSec).
        self._systemd = sdnotify.SystemdNotifier() if os.environ.get("NOTIFY_SOCKET") else None
        self.boot_id = new_id()
        self.version = version or software_version()
        self._probe = probe or SystemProbe()
        self._started_at = time.monotonic()
        self._db = DurableDb(data_dir / "device.sqlite3", hold_open=hold_db_open)
        self.journal = Journal(self._db)
        self.outbox = Outbox(self._db, boot_id=self.boot_id)
        self._config_store = ConfigStore(data_dir / "documents.json")
        self._config = self._config_store.latest()
        self.connection = self.journal.connection()
        self.hub_online = False
        self.hall: dict[str, HallState] = {}
        # Typed board state (calls, windows, queues, the matter library's
        # manifest) by topic, retained: what a
        # rebooted board shows at once. Kinds that render it read it from here.
        self.board: dict[str, Payload] = {}
        self.rejected = 0
        """Inbound payloads that broke the contract (malformed, oversized, wrong version)."""
        self.rejections: deque[str] = deque(maxlen=20)
        """The latest rejections, as "topic: reason"."""
        self.seen_online = asyncio.Event()
        """Set when our own birth came back from the broker: subscriptions are live."""
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._config_callbacks: list[Callable[[DeviceConfig], None]] = []
        self._hall_callbacks: list[Callable[[HallState], None]] = []
        # Kind-specific channels (a kiosk's ticket replies and number blocks).
        self._channel_callbacks: dict[Channel, list[Callable[[Message], None]]] = {}
        self._port_states: dict[str, Callable[[], str]] = {}
        self.session = MqttSession(
            client_id=device_id,
            address=address,
            subscriptions=topics.device_subscriptions(device_id, spec.kind),
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            will_factory=self._will,
            backoff=backoff,
        )
        self.commands = CommandDispatcher(journal=self.journal, publish=self._publish_result)
        self.courier = Courier(
            outbox=self.outbox,
            publish=lambda topic, body: self.session.publish(topic, body, qos=1),
            topic_for=lambda name: topics.event(device_id, name),
            resend_s=resend_s,
        )
        register_builtins(self)

    # --- what a kind sees (edge.kinds.base.DeviceApi) -------------------------

    @property
    def device_id(self) -> str:
        return self._id

    @property
    def stopped(self) -> bool:
        return self._stopping

    @property
    def kind(self) -> DeviceKind:
        return self.spec.kind

    @property
    def ports(self) -> Ports:
        return self._ports

    @property
    def config(self) -> DeviceConfig | None:
        return self._config

    def emit(self, name: str, data: dict[str, Any], *, event_id: str | None = None) -> Event:
        event = self.outbox.emit(name, data, event_id=event_id)
        self.courier.wake()
        return event

    def register(
        self, name: str, handler: Callable[[A], Awaitable[HandlerResult]], args: type[A]
    ) -> None:
        self.commands.register(name, handler, args)

    def on_config(self, callback: Callable[[DeviceConfig], None]) -> None:
        self._config_callbacks.append(callback)

    def on_hall(self, callback: Callable[[HallState], None]) -> None:
        self._hall_callbacks.append(callback)

    def on_channel(self, channel: Channel, callback: Callable[[Message], None]) -> None:
        """Hand validated messages of `channel` addressed to this device (or to the
        whole hall) to `callback`, on the event loop; on channels the agent handles
        itself (the board: ``hall/queue/…``), after the agent."""
        self._channel_callbacks.setdefault(channel, []).append(callback)

    def send(self, topic: str, body: bytes, *, qos: int = 0) -> bool:
        """Publish now, not through the outbox; False when not connected."""
        return self.session.publish(topic, body, qos=qos)

    def port_state(self, name: str, read: Callable[[], str]) -> None:
        """Report `read()` as the state of port `name` in the heartbeat."""
        self._port_states[name] = read

    # --- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        self.spec.setup(self)
        self._spawn(self.courier.run())
        self._spawn(self._heartbeat_loop())
        await self.session.start()
        # Ready without waiting for the broker: a kiosk must work offline too.
        self._notify_systemd("READY=1")

    async def stop(self) -> None:
        """Publish an explicit offline (a clean disconnect sends no will) and close."""
        if self._stopping:
            return
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=5)
            if stuck:  # a handler that ignores cancellation must not block the offline status
                log.warning("%s: %d task(s) did not stop", self._id, len(stuck))
        await self.session.stop(final=(self.topics.status(self._id), self._status_payload(False)))
        self._ports.close()
        self._config_store.close()
        self._db.close()

    async def wait_online(self) -> None:
        """Wait until connected, born and subscribed (bound it with ``asyncio.timeout``)."""
        await self.seen_online.wait()

    async def run(self) -> None:
        """Run until cancelled, then stop cleanly."""
        await self.start()
        try:
            with heap.settled():  # a Pi runs one agent for months
                await asyncio.Event().wait()
        finally:
            await self.stop()

    # --- birth, will, heartbeat ----------------------------------------------------

    def _will(self) -> Will:
        # On the network thread, before each connection attempt.
        try:
            self.connection = self.journal.next_connection()
        except sqlite3.Error:
            # A full or failing card must not keep the device off the network;
            # the counter still rises for this boot.
            log.exception("%s: cannot persist the connection counter", self._id)
            self.connection += 1
        return Will(self.topics.status(self._id), self._status_payload(False))

    def _status_payload(self, online: bool) -> bytes:
        return encode(
            DeviceStatus(
                state=DeviceState.ONLINE if online else DeviceState.OFFLINE,
                kind=self.kind,
                connection=self.connection,
                boot_id=self.boot_id,
                version=self.version,
            )
        )

    def _birth(self) -> None:
        self.session.publish(self.topics.status(self._id), self._status_payload(True), retain=True)

    async def _on_connect(self) -> None:
        log.info("%s online (connection %d)", self._id, self.connection)
        self._birth()
        self.publish_health()

    async def _on_disconnect(self) -> None:
        # Wait for a fresh retained hub status on the next connection.
        self.hub_online = False
        self.seen_online.clear()
        self.courier.set_ready(False)

    def health(self) -> Health:
        figures = self._probe.read()
        return Health(
            uptime_s=time.monotonic() - self._started_at,
            cpu_percent=figures.cpu_percent,
            memory_percent=figures.memory_percent,
            temperature_c=figures.temperature_c,
            version=self.version,
            outbox_depth=self.outbox.depth(),
            ports=self._ports_states(),
        )

    def _ports_states(self) -> dict[str, str]:
        states = self._ports.states()
        for name, read in self._port_states.items():
            try:
                states[name] = str(read())[:64]
            except Exception as exc:  # a faulty probe must not stop the heartbeat
                states[name] = f"error: {exc}"[:64]
        return states

    def publish_health(self) -> bool:
        return self.session.publish(self.topics.health(self._id), encode(self.health()), qos=0)

    def _notify_systemd(self, state: str) -> None:
        if self._systemd is not None:
            self._systemd.notify(state)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            # The loop is turning: tell systemd's watchdog (WatchdogSec restarts a
            # hung agent), whether or not the broker can be reached.
            self._notify_systemd("WATCHDOG=1")
            try:
                self.publish_health()
            except Exception:
                log.exception("%s: heartbeat failed", self._id)

    # --- inbound -------------------------------------------------------------------

    async def _on_message(self, topic: str, raw: bytes, retained: bool) -> None:
        if not raw and retained:
            return  # a cleared retained topic (e.g. the hub removed our config)
        try:
            msg = decode(self.topics, topic, raw, retained=retained)
        except Rejected as exc:
            self._reject(topic, raw, exc.reason)
            return
        parsed = msg.parsed
        if parsed.device_id not in (None, self._id):
            self._reject(topic, raw, "addressed to another device")
            return
        handler = self._routes.get(parsed.channel)
        callbacks = self._channel_callbacks.get(parsed.channel, ())
        if handler is None and not callbacks:
            self._reject(topic, raw, f"devices do not read {parsed.channel.value}")
            return
        if handler is not None:
            handler(self, msg)
        for callback in callbacks:
            try:
                callback(msg)
            except Exception:
                log.exception("%s: handler of %s failed", self._id, parsed.channel.value)

    def _reject(self, topic: str, raw: bytes, reason: str) -> None:
        self.rejected += 1
        self.rejections.append(f"{topic}: {reason}")
        log.warning("%s: rejected message on %s: %s", self._id, topic, reason)
        parsed = self.topics.parse(topic)
        if parsed and parsed.channel is Channel.COMMAND and parsed.device_id == self._id:
            # Tell the hub now rather than let it wait for its deadline.
            cid = _command_id_of(raw)
            if cid is not None:
                self._publish_result(
                    CommandResult(
                        command_id=cid,
                        name=parsed.name,
                        status=ResultStatus.REJECTED,
                        detail=reason,
                    )
                )

    def _on_hub_status(self, msg: Message) -> None:
        assert isinstance(msg.payload, HubStatus)
        self.hub_online = msg.payload.online
        self.courier.set_ready(self.hub_online and self.session.connected.is_set())

    def _on_own_status(self, msg: Message) -> None:
        status = msg.payload
        assert isinstance(status, DeviceStatus)
        if status.state is DeviceState.ONLINE and status.connection == self.connection:
            self.seen_online.set()
        if self._stopping or status.state is not DeviceState.OFFLINE:
            return
        # Older counter: a stale will of a previous connection. Equal counter while
        # we are connected cannot be our will either. Both: be born again.
        if status.connection <= self.connection and self.session.connected.is_set():
            log.info(
                "%s: stale offline status (connection %d < %d); rebirth",
                self._id,
                status.connection,
                self.connection,
            )
            self._birth()
        elif status.connection > self.connection:
            log.warning("%s: offline status from a newer connection: duplicate id?", self._id)

    def _on_ack(self, msg: Message) -> None:
        ack = msg.payload
        assert isinstance(ack, EventAck)
        if self.outbox.ack(ack.boot_id, ack.seq):
            self.courier.acked(ack.seq)

    def _on_command(self, msg: Message) -> None:
        assert isinstance(msg.payload, Command)
        # A task per command: a slow handler must not hold up acks and statuses.
        self._spawn(self.commands.handle(msg.parsed.name, msg.payload))

    def _on_config(self, msg: Message) -> None:
        config = msg.payload
        assert isinstance(config, DeviceConfig)
        if not self._config_store.offer(config):
            log.info("%s: ignoring config version %d", self._id, config.config_version)
            return
        self._config = config
        for callback in self._config_callbacks:
            callback(config)

    def _on_hall(self, msg: Message) -> None:
        state = msg.payload
        assert isinstance(state, HallState)
        self.hall[msg.parsed.name] = state
        for callback in self._hall_callbacks:
            callback(state)

    def _on_board(self, msg: Message) -> None:
        self.board[msg.topic] = msg.payload

    _routes: ClassVar[dict[Channel, Callable[[DeviceAgent, Message], None]]] = {
        Channel.HUB_STATUS: _on_hub_status,
        Channel.STATUS: _on_own_status,
        Channel.ACK: _on_ack,
        Channel.COMMAND: _on_command,
        Channel.CONFIG: _on_config,
        Channel.HALL: _on_hall,
        Channel.HALL_CALLS: _on_board,
        Channel.HALL_WINDOW: _on_board,
        Channel.HALL_QUEUE: _on_board,
        Channel.HALL_MATTERS: _on_board,
    }

    # --- outbound ------------------------------------------------------------------

    def _publish_result(self, result: CommandResult) -> None:
        self.session.publish(self.topics.result(self._id), encode(result), qos=1)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _command_id_of(raw: bytes) -> str | None:
    """The command id of a rejected command, if one can be read safely."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        return None
    with contextlib.suppress(ValueError):
        body = json.loads(raw)
        cid = body.get("command_id") if isinstance(body, dict) else None
        if isinstance(cid, str) and 0 < len(cid) <= 64:
            return cid
    return None
