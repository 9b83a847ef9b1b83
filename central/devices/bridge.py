"""The hub's side of MQTT: device statuses, heartbeats, events and commands.

Inbound messages are validated on the event loop and then split in two:
command results resolve their waiting future at once (the round trip a
clerk feels), and everything that touches the database goes through one
writer task that applies queued writes in batches in a worker thread. One
writer keeps statuses in arrival order and turns a burst of 200 heartbeats
into one transaction instead of 200.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any, Final, Literal, TypeVar

from pydantic import TypeAdapter
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from broker.contract import (
    HUB_USER,
    Channel,
    Command,
    CommandResult,
    DeviceConfig,
    DeviceKind,
    DeviceStatus,
    Event,
    EventAck,
    Health,
    HubStatus,
    Name,
    Payload,
    Rejected,
    ResultStatus,
    Topics,
    decode,
    encode,
    new_id,
    utcnow,
)
from broker.credentials import mqtt_password
from broker.session import BrokerAddress, MqttSession, Will
from broker.signalling import terminal_token
from central.db import SQLITE_IMMEDIATE
from central.devices import service
from central.devices.models import Device
from central.devices.service import FINAL_STATUSES, DeviceNotFound, DeviceSnapshot, StatusOutcome
from central.devices.writes import (
    CommandFinished,
    CommandIssued,
    CommandWrite,
    EventWrite,
    HealthWrite,
    StatusWrite,
    Write,
    apply_command_writes,
)
from central.metrics import HubMetrics, rejection_class

log = logging.getLogger(__name__)
T = TypeVar("T")

_NAME: Final = TypeAdapter(Name)
_BATCH_MAX: Final = 500
_LINGER_S: Final = 0.02


class CommandRefused(Exception):
    """The hub will not send this command to a retired or offline device."""

    def __init__(self, device_id: str, why: Literal["retired", "offline"]) -> None:
        super().__init__(f"device {device_id!r} is {why}")
        self.device_id = device_id
        self.why = why


class HubOffline(Exception):
    """The hub has no broker connection right now."""


@dataclasses.dataclass
class _Pending:
    future: asyncio.Future[CommandResult]
    device_id: str
    name: str
    started: float


def hub_address(settings: Settings) -> BrokerAddress:
    """The broker address with the hub's own user and derived password."""
    password = settings.mqtt.password
    return dataclasses.replace(
        settings.mqtt.address(),
        username=HUB_USER,
        password=(
            password.get_secret_value()
            if password is not None
            else mqtt_password(settings.hub.secret_key.get_secret_value(), HUB_USER)
        ),
    )


class HubBridge:
    def __init__(
        self, *, settings: Settings, sessions: sessionmaker[Session], metrics: HubMetrics
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.hall)
        self._sessions = sessions
        self._metrics = metrics
        self._pending: dict[str, _Pending] = {}
        self._devices: dict[str, DeviceSnapshot] = {}
        self._writes: asyncio.Queue[Write] | None = None
        self._writer: asyncio.Task[None] | None = None
        # Called on the event loop with (device_id, name, event) once an event
        # is stored for the first time (never for replays); other packages
        # register here (the queue's caller buttons) so the bridge stays generic.
        self.on_new_event: list[Callable[[str, str, Event], None]] = []
        # Called on the event loop after every (re)connection, after the hub's own
        # retained topics: a broker that restarted without persistence has
        # forgotten every retained message (the queue's hall boards).
        self.on_connected: list[Callable[[], None]] = []
        # Called on the event loop with (channel, device_id, payload) for valid
        # device messages the bridge does not handle itself (a kiosk's ticket
        # request); nothing is stored for them here.
        self.on_device_message: list[Callable[[Channel, str, Payload], None]] = []
        # Called on the event loop with (device_id, status) for every valid
        # status (birth or will) before it is stored (a new kiosk's blocks).
        self.on_status: list[Callable[[str, DeviceStatus], None]] = []
        self.mqtt = MqttSession(
            client_id=f"anxin-hub-{settings.hall}-{new_id()[:8]}",
            address=hub_address(settings),
            subscriptions=self.topics.hub_subscriptions(),
            on_message=self._on_message,
            on_connect=self._on_connect,
            will_factory=lambda: Will(
                self.topics.hub_status(), encode(HubStatus(online=False)), qos=1, retain=True
            ),
        )

    # --- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        self._devices = {d.id: d for d in await self._db(service.snapshots)}
        self._writes = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="hub-db-writer")
        await self.mqtt.start()

    async def stop(self) -> None:
        """Say goodbye (retained offline) and flush what is queued for the database."""
        offline = (self.topics.hub_status(), encode(HubStatus(online=False)))
        await self.mqtt.stop(final=offline)
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(HubOffline("the hub is shutting down"))
        if self._writes is not None and self._writer is not None:
            try:
                await asyncio.wait_for(self._writes.join(), 5.0)
            except TimeoutError:
                log.warning("hub stopped with %d database writes pending", self._writes.qsize())
            self._writer.cancel()

    @property
    def connected(self) -> bool:
        return self.mqtt.connected.is_set()

    async def wait_connected(self, within_s: float) -> None:
        await self.mqtt.wait_connected(within_s)

    async def flush(self) -> None:
        """Wait until every write queued so far is in the database."""
        if self._writes is not None:
            await self._writes.join()

    def snapshot(self, device_id: str) -> DeviceSnapshot | None:
        return self._devices.get(device_id)

    def snapshots(self) -> list[DeviceSnapshot]:
        return list(self._devices.values())

    # --- commands ----------------------------------------------------------------

    async def send_command(
        self,
        device_id: str,
        name: str,
        args: dict[str, object] | None = None,
        timeout_s: float | None = None,
    ) -> CommandResult:
        """Send a command and wait for its final result.

        Returns the device's result, or one with status ``expired`` when
        nothing final came back before the deadline. Raises `DeviceNotFound`,
        `CommandRefused` (retired or offline device) or `HubOffline`.
        """
        _NAME.validate_python(name)
        device = self._devices.get(device_id)
        if device is None:
            raise DeviceNotFound(device_id)
        if device.retired:
            raise CommandRefused(device_id, "retired")
        if not device.online:
            raise CommandRefused(device_id, "offline")
        timeout = timeout_s if timeout_s is not None else self.settings.hub.command_timeout_s
        now = utcnow()
        command = Command(
            command_id=new_id(),
            issued_at=now,
            deadline=now + dt.timedelta(seconds=timeout),
            args=dict(args or {}),
        )
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        pending = _Pending(future, device_id, name, time.perf_counter())
        self._pending[command.command_id] = pending
        try:
            if not self.mqtt.publish(self.topics.command(device_id, name), encode(command), qos=1):
                raise HubOffline("the hub is not connected to the broker")
            self._enqueue(CommandIssued(device_id, name, command))
            try:
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                result = CommandResult(
                    command_id=command.command_id,
                    name=name,
                    status=ResultStatus.EXPIRED,
                    detail=f"no final result within {timeout:g} s",
                )
                self._finish(pending, result)
                return result
        finally:
            self._pending.pop(command.command_id, None)

    def _finish(self, pending: _Pending, result: CommandResult) -> None:
        elapsed = time.perf_counter() - pending.started
        if not pending.future.done():
            pending.future.set_result(result)
        self._metrics.commands.labels(result.status.value).inc()
        self._metrics.command_round_trip.observe(elapsed)
        self._enqueue(CommandFinished(pending.device_id, result, elapsed * 1000))

    # --- admin actions -------------------------------------------------------------

    async def set_enabled(self, device_id: str, *, enabled: bool) -> Device:
        device = await self._db(
            lambda s: service.set_enabled(s, device_id=device_id, enabled=enabled)
        )
        self._devices[device_id] = snap = DeviceSnapshot.of(device)
        self._publish_snapshot(snap)
        return device

    async def update_settings(self, device_id: str, values: dict[str, Any]) -> Device:
        """Change admin settings (`service.update_settings`) and publish the config."""
        device = await self._db(
            lambda s: service.update_settings(s, device_id=device_id, values=values)
        )
        self._devices[device_id] = snap = DeviceSnapshot.of(device)
        self._publish_snapshot(snap)
        return device

    async def retire(self, device_id: str) -> Device:
        """Mark retired and clear the device's retained topics.

        If the device comes back it is listed again, still retired and
        disabled, and the hub re-sends it a disabled config: nothing that
        was retired starts serving citizens without an admin enabling it.
        """
        device = await self._db(lambda s: service.retire(s, device_id=device_id))
        self._devices[device_id] = DeviceSnapshot.of(device)
        # An empty retained payload is MQTT's way to delete a retained message.
        self.mqtt.publish(self.topics.status(device_id), b"", qos=1, retain=True)
        self.mqtt.publish(self.topics.config(device_id), b"", qos=1, retain=True)
        return device

    def _publish_snapshot(self, snap: DeviceSnapshot, *, enabled: bool | None = None) -> None:
        """The device's retained config: its version, enabled flag and admin settings."""
        config = DeviceConfig(
            config_version=snap.config_version,
            enabled=snap.enabled if enabled is None else enabled,
            settings=snap.settings | self._derived_settings(snap),
        )
        self.mqtt.publish(self.topics.config(snap.id), encode(config), qos=1, retain=True)

    def _derived_settings(self, snap: DeviceSnapshot) -> dict[str, Any]:
        """Settings computed, never stored: a sign-language terminal's
        signalling token (`broker.signalling`), from the hall secret."""
        if snap.kind != DeviceKind.SIGNLANG.value:
            return {}
        secret = self.settings.hub.secret_key.get_secret_value()
        return {"signalling_token": terminal_token(secret, snap.id)}

    # --- inbound -----------------------------------------------------------------

    async def _on_connect(self) -> None:
        self.mqtt.publish(
            self.topics.hub_status(), encode(HubStatus(online=True)), qos=1, retain=True
        )
        # A broker without persistence forgets retained configs on restart;
        # the database is the truth, so say it again.
        for d in list(self._devices.values()):
            if d.config_version > 0 and (not d.retired or d.online):
                self._publish_snapshot(d)
        for listener in self.on_connected:
            try:
                listener()
            except Exception:
                log.exception("connect listener failed")

    def _on_message(self, topic: str, raw: bytes, retained: bool) -> None:
        if not raw and (parsed := self.topics.parse(topic)) and parsed.channel == Channel.STATUS:
            return  # a cleared retained status (our own retire): not a message
        try:
            message = decode(self.topics, topic, raw, retained=retained)
        except Rejected as exc:
            label = rejection_class(exc.reason)
            self._metrics.messages_rejected.labels(label).inc()
            log.warning(
                "rejected MQTT message on %s: %s",
                exc.topic,
                exc.reason,
                extra={"topic": exc.topic, "reason_class": label},
            )
            return
        parsed, payload = message.parsed, message.payload
        self._metrics.messages_received.labels(parsed.channel.value).inc()
        device_id = parsed.device_id
        if device_id is None:
            return
        self._dispatch(parsed.channel, device_id, parsed.name, payload)

    def _dispatch(self, channel: Channel, device_id: str, name: str, payload: Payload) -> None:
        if isinstance(payload, CommandResult):
            pending = self._pending.get(payload.command_id)
            if pending is not None and pending.device_id != device_id:
                log.warning(
                    "result for command %s from the wrong device %s", payload.command_id, device_id
                )
                return
            if payload.status in FINAL_STATUSES and pending is not None:
                self._finish(pending, payload)  # resolve first, persist after
            else:
                self._enqueue(CommandFinished(device_id, payload, None))
        elif isinstance(payload, Event):
            self._enqueue(EventWrite(device_id, name, payload))
        elif isinstance(payload, DeviceStatus):
            self._enqueue(StatusWrite(device_id, payload))
            for status_listener in self.on_status:
                try:
                    status_listener(device_id, payload)
                except Exception:
                    log.exception("status listener failed on %s", device_id)
        elif isinstance(payload, Health):
            self._enqueue(HealthWrite(device_id, payload))
        elif self.on_device_message:
            for listener in self.on_device_message:
                try:
                    listener(channel, device_id, payload)
                except Exception:
                    log.exception("device message listener failed on %s", device_id)
        else:
            log.debug("ignoring %s on %s for %s", type(payload).__name__, channel, device_id)

    # --- the database writer -----------------------------------------------------------

    def _enqueue(self, write: Write) -> None:
        if self._writes is None:
            raise RuntimeError("the bridge has not been started")
        self._writes.put_nowait(write)

    async def _write_loop(self) -> None:
        assert self._writes is not None
        queue = self._writes
        while True:
            batch = [await queue.get()]
            # Linger a moment so a burst becomes one transaction (and a command
            # and its result one row). Not for a device event: a clerk waits on
            # a caller's press, whose verb runs once the event is stored. Events
            # still batch while the writer is busy with the batch before.
            if not isinstance(batch[0], EventWrite):
                await asyncio.sleep(_LINGER_S)
            while len(batch) < _BATCH_MAX and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                outcomes = await asyncio.to_thread(self._apply_batch, batch)
                for write, outcome in zip(batch, outcomes, strict=True):
                    self._after_write(write, outcome)
            except Exception:
                log.exception("database writer failed on a batch of %d", len(batch))
                self._metrics.writer_failures.inc()
            finally:
                for _ in batch:
                    queue.task_done()

    def _apply_batch(self, batch: list[Write]) -> list[object]:
        """In a worker thread: one transaction for the batch; if it fails, one per
        write, so that one bad write does not lose the others."""
        now = utcnow()
        try:
            with self._sessions() as session:
                # SQLite: take the write lock up front. A batch reads before it
                # writes, and a deferred transaction that finds another writer
                # (a queue verb, the kiosk reconciliation) fails at once instead
                # of waiting.
                session.connection(execution_options={SQLITE_IMMEDIATE: True})
                outcomes: list[object] = []
                commands: list[CommandWrite] = []
                for w in batch:
                    if isinstance(w, CommandIssued | CommandFinished):
                        commands.append(w)
                        outcomes.append(None)
                    else:
                        outcomes.append(w.apply(session, now))
                apply_command_writes(session, commands)
                session.commit()
                return outcomes
        except Exception:
            log.warning(
                "batch write failed; retrying %d writes one by one", len(batch), exc_info=True
            )
        outcomes = []
        for write in batch:
            outcome: object
            try:
                with self._sessions() as session:
                    session.connection(execution_options={SQLITE_IMMEDIATE: True})
                    outcome = write.apply(session, now)
                    session.commit()
            except Exception:
                log.exception("database write failed: %r", write)
                self._metrics.writer_failures.inc()
                outcome = None
            outcomes.append(outcome)
        return outcomes

    def _after_write(self, write: Write, outcome: object) -> None:
        """Back on the loop: acks, the device cache and counters."""
        if isinstance(write, EventWrite) and isinstance(outcome, bool):
            if outcome:
                self._metrics.events_stored.inc()
                for listener in self.on_new_event:
                    try:
                        listener(write.device_id, write.name, write.event)
                    except Exception:
                        log.exception("event listener failed on %s", write.device_id)
            else:
                self._metrics.events_duplicate.inc()
            # Duplicates are acked too: the device's ack was lost, not the event.
            ack = EventAck(boot_id=write.event.boot_id, seq=write.event.seq)
            self.mqtt.publish(self.topics.ack(write.device_id), encode(ack), qos=1)
        elif isinstance(write, StatusWrite) and isinstance(outcome, tuple):
            result, snap = outcome
            if result == StatusOutcome.STALE:
                self._metrics.stale_status.inc()
                log.info(
                    "ignored stale status of %s (connection %d)",
                    write.device_id,
                    write.status.connection,
                )
            if isinstance(snap, DeviceSnapshot):
                self._devices[snap.id] = snap
                if snap.retired and snap.online and result != StatusOutcome.STALE:
                    self._publish_snapshot(snap, enabled=False)
                elif (
                    snap.kind == DeviceKind.SIGNLANG.value
                    and snap.online
                    and not snap.retired
                    and result != StatusOutcome.STALE
                ):
                    # A new terminal has no config yet but needs its token.
                    self._publish_snapshot(snap)

    async def _db(self, fn: Callable[[Session], T]) -> T:
        """Run an admin change (read, then write) in its own transaction. On
        SQLite it takes the write lock at BEGIN: a deferred transaction that
        read before another writer committed cannot upgrade ("database is
        locked"), and the bridge's own heartbeat writes make that likely."""

        def run() -> T:
            with self._sessions() as session:
                session.connection(execution_options={SQLITE_IMMEDIATE: True})
                value = fn(session)
                session.commit()
                return value

        return await asyncio.to_thread(run)
