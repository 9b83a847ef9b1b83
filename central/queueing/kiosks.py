"""Kiosk tickets (取号机): online requests, reserved offline blocks, reconciliation.

The MQTT side is in `broker.contract` (`TicketRequest`, `TicketReply`,
`KioskBlocks`); the kiosk's side in `edge.kinds.kiosk`. Here, on the hub:

- **Online.** A `TicketRequest` from a kiosk is claimed once in
  ``kiosk_requests`` (every hub worker hears it; only the one whose insert
  wins issues), issued through `service.issue` with channel ``kiosk`` at the
  hub clock's "now", and answered with the number, service name, people
  ahead, estimated wait, issue time and citizen page URL, or with the
  refusal's Chinese reason. A device that is not a kiosk, retired or
  disabled is refused.
- **Appointment check-in.** A `TicketRequest` with an ``appointment_code``
  is claimed the same way, then checked in (`central.appointments.service.
  check_in`, which issues through the queue with channel and priority
  ``appointment``) and answered like a tap, or with the refusal (too early,
  too late, cancelled, already checked in: with the number).
- **Void.** A kiosk that gave up waiting emits ``ticket_void`` with the
  request id (through its outbox). If the hub issued that request, the
  ticket is cancelled (reason ``duplicate``: the citizen holds an offline
  ticket instead); if the request is still being issued, it is marked void
  and the issuer cancels its ticket itself; a request arriving after its
  void is not issued. Whichever comes second does the cancel.
- **Blocks.** Every ``kiosk.replenish_s`` (and after each offline ticket of
  a kiosk, and at once when a kiosk's online birth is seen, so a new kiosk
  need not wait for the next round) each kiosk is topped up: for every active service and for the
  operating day and the next ``kiosk.days_ahead`` days, when fewer than
  ``kiosk.offline_block`` of its reserved numbers are unused (as far as the
  hub knows), a new block of that many numbers is reserved by advancing the
  service's `DayCounter` (so `issuing.allocate_number` never hands them
  out) in the same transaction. The kiosk's retained ``blocks`` topic then
  carries the services and hours, the blocks with unused numbers and the
  hub's clock; it is published again every round so kiosks keep the clock.
- **Offline tickets.** ``ticket_offline`` events (stored once by the bridge,
  which dedupes by boot and sequence) are applied one by one in arrival
  order: a ticket of channel ``offline_block`` with the kiosk's number and
  token, issued and queued at its original time (its timeline entry carries
  that time and the reconciliation time). A number outside the kiosk's
  blocks is refused with a logged reason; a number already in the queue is
  a replay and changes nothing. At start the hub also applies any stored
  ``ticket_offline`` event of the last two days that has no ticket (a crash
  between storing the event and applying it).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any, Final

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from broker.contract import (
    Channel,
    DeviceKind,
    DeviceState,
    DeviceStatus,
    Event,
    KioskBlocks,
    KioskService,
    NumberBlock,
    Payload,
    ServiceCode,
    TicketReply,
    TicketRequest,
    encode,
)
from central.appointments.service import check_in
from central.devices.bridge import HubBridge
from central.devices.models import DeviceEvent
from central.queueing import locking, notify, privacy, reasons, service
from central.queueing.clock import HubClock, operating_day
from central.queueing.errors import QueueError
from central.queueing.estimator import estimate_ticket
from central.queueing.events import QueueBus
from central.queueing.fairness import FairnessKind
from central.queueing.issuing import (
    format_number,
    hash_identity,
    identity_key,
    mask_identity,
    normalise_identity,
)
from central.queueing.models import (
    Channel as TicketChannel,
)
from central.queueing.models import (
    KioskBlock,
    KioskRequest,
    Priority,
    Service,
    ServiceArea,
    Ticket,
)
from central.queueing.states import Verb
from central.queueing.txn import Txn, run

log = logging.getLogger(__name__)

OFFLINE_EVENT: Final = "ticket_offline"
VOID_EVENT: Final = "ticket_void"
SWEEP_DAYS: Final = 2


class OfflineTicket(BaseModel):
    """The data of a ``ticket_offline`` event."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    service: ServiceCode
    day: dt.date
    seq: int = Field(ge=1)
    number: str = Field(max_length=8)
    token: str = Field(min_length=16, max_length=32)
    issued_at: dt.datetime
    priority: str = Field("normal", max_length=16)
    priority_reason: str | None = Field(None, max_length=32)
    citizen_id: str | None = Field(None, max_length=32)
    matter: str | None = Field(None, max_length=64)


def citizen_base_url(settings: Settings) -> str:
    if settings.hub.public_url:
        return settings.hub.public_url.rstrip("/")
    host = settings.hub.host if settings.hub.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    return f"http://{host}:{settings.hub.port}"


def _insert_ignore(session: Session, model: type[Any], values: dict[str, Any]) -> bool:
    """Insert unless the key exists; True when this call inserted the row."""
    dialect = postgresql if locking.dialect(session) == "postgresql" else sqlite
    # RETURNING, not rowcount: a driver may report -1 for an insert.
    key = next(iter(model.__table__.primary_key.columns))
    stmt = dialect.insert(model).values(**values).on_conflict_do_nothing().returning(key)
    return session.execute(stmt).first() is not None


# --- online requests -----------------------------------------------------------------


def claim(session: Session, device_id: str, request: TicketRequest, now: dt.datetime) -> bool:
    """Claim a request for this worker; False when it was claimed or voided before."""

    def work() -> bool:
        return _insert_ignore(
            session,
            KioskRequest,
            {"device_id": device_id, "request_id": request.request_id, "received_at": now,
             "outcome": "claimed", "matter": request.matter},
        )  # fmt: skip

    return locking.run_write(session, work)


def _settle(session: Session, device_id: str, request_id: str, outcome: str, **values: Any) -> bool:
    """Move a claimed request to `outcome`; False when it was voided meanwhile."""

    def work() -> bool:
        result = session.execute(
            update(KioskRequest)
            .where(
                KioskRequest.device_id == device_id,
                KioskRequest.request_id == request_id,
                KioskRequest.outcome == "claimed",
            )
            .values(outcome=outcome, **values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    return locking.run_write(session, work)


def handle_request(
    session: Session,
    *,
    device_id: str,
    request: TicketRequest,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime,
) -> TicketReply | None:
    """Issue the ticket a kiosk asked for; None when another worker has it."""
    if not claim(session, device_id, request, now):
        log.info("kiosk %s: request %s claimed before; not issued", device_id, request.request_id)
        return None
    if request.appointment_code is not None:
        return _check_in(session, device_id, request, request.appointment_code, bus, settings, now)
    assert request.service is not None  # the contract: a service or an appointment code
    try:
        ticket = service.issue(
            session,
            service=request.service,
            channel=TicketChannel.KIOSK,
            priority=Priority(request.priority),
            priority_reason=request.priority_reason,
            citizen_id=request.citizen_id,
            bus=bus,
            settings=settings,
            now=now,
        )
    except QueueError as exc:
        _settle(session, device_id, request.request_id, "refused", reason=exc.message[:200])
        log.info("kiosk %s: ticket of %s refused: %s", device_id, request.service, exc.message)
        return TicketReply(request_id=request.request_id, ok=False, reason=exc.message[:200])
    if not _settle(session, device_id, request.request_id, "issued", ticket_id=ticket.id):
        # The kiosk gave up on this request while it was being issued.
        _cancel_unheld(session, ticket.id, bus=bus, settings=settings, now=now)
        return None
    log.info(
        "kiosk %s: ticket %s (%s, matter %s)",
        device_id,
        ticket.number,
        request.service,
        request.matter or "-",
    )
    return _ticket_reply(session, request.request_id, ticket, settings=settings, now=now)


def _ticket_reply(
    session: Session, request_id: str, ticket: Ticket, *, settings: Settings, now: dt.datetime
) -> TicketReply:
    estimate = estimate_ticket(session, ticket, now=now, recent=True)
    svc = session.get(Service, ticket.service_id)
    session.commit()  # end the read transaction: never hold SQLite's snapshot
    return TicketReply(
        request_id=request_id,
        ok=True,
        number=ticket.number,
        service=svc.code if svc is not None else None,
        service_name=svc.name if svc is not None else None,
        priority=ticket.priority,
        ahead=estimate.ahead,
        minutes=estimate.shown_minutes,
        issued_at=ticket.issued_at,
        citizen_url=f"{citizen_base_url(settings)}/t/{ticket.token}",
    )


def _check_in(
    session: Session,
    device_id: str,
    request: TicketRequest,
    code: str,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime,
) -> TicketReply:
    """Check a booking in for a kiosk (the request is claimed already)."""
    try:
        ticket = check_in(
            session, code, by=f"kiosk:{device_id}", bus=bus, settings=settings, now=now
        )
    except QueueError as exc:
        _settle(session, device_id, request.request_id, "refused", reason=exc.message[:200])
        log.info("kiosk %s: check-in of %s refused: %s", device_id, code, exc.message)
        return TicketReply(request_id=request.request_id, ok=False, reason=exc.message[:200])
    # A kiosk never voids a check-in (it does not issue those offline).
    _settle(session, device_id, request.request_id, "issued", ticket_id=ticket.id)
    log.info("kiosk %s: appointment %s checked in: %s", device_id, code, ticket.number)
    return _ticket_reply(session, request.request_id, ticket, settings=settings, now=now)


def _cancel_unheld(
    session: Session, ticket_id: int, *, bus: QueueBus, settings: Settings, now: dt.datetime
) -> None:
    try:
        ticket = service.cancel(
            session, ticket_id=ticket_id, reason="duplicate", bus=bus, settings=settings, now=now
        )
        log.info("kiosk ticket %s cancelled: the kiosk issued offline instead", ticket.number)
    except QueueError as exc:
        log.warning("could not cancel abandoned kiosk ticket %d: %s", ticket_id, exc.message)


def void_request(
    session: Session,
    *,
    device_id: str,
    request_id: str,
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime,
) -> str:
    """The kiosk gave up on a request; returns what became of it."""

    def work() -> tuple[str, int | None]:
        if _insert_ignore(
            session,
            KioskRequest,
            {"device_id": device_id, "request_id": request_id, "received_at": now,
             "outcome": "void"},
        ):  # fmt: skip
            return "void before arrival", None
        row = session.get(
            KioskRequest, (device_id, request_id), with_for_update=True, populate_existing=True
        )
        assert row is not None
        if row.outcome == "claimed":
            row.outcome = "void"
            return "void while issuing", None
        if row.outcome == "issued":
            row.outcome = "void"
            return "cancelled", row.ticket_id
        return f"already {row.outcome}", None

    what, ticket_id = locking.run_write(session, work)
    if ticket_id is not None:
        _cancel_unheld(session, ticket_id, bus=bus, settings=settings, now=now)
    log.info("kiosk %s: request %s void (%s)", device_id, request_id, what)
    return what


# --- blocks ------------------------------------------------------------------------------


def _hhmm(t: dt.time) -> str:
    return f"{t:%H:%M}"


def _kiosk_service(s: Service, area: ServiceArea | None) -> KioskService:
    return KioskService(
        code=s.code,
        name=s.name,
        prefix=s.prefix,
        width=max(3, len(str(s.number_end))),
        opens_at=_hhmm(s.opens_at),
        closes_at=_hhmm(s.closes_at),
        area=area.code if area is not None else None,
        area_name=area.name if area is not None else None,
        avg_handling_s=s.avg_handling_s,
    )


def _area_order(area: ServiceArea | None) -> tuple[int, int]:
    return (0, 0) if area is None else (area.sort, area.id)


def _used_in_blocks(session: Session, device_id: str, days: list[dt.date]) -> dict[int, int]:
    """Block id -> how many of its numbers the hub has seen used."""
    rows = session.execute(
        select(KioskBlock.id, func.count(Ticket.id))
        .outerjoin(
            Ticket,
            and_(
                Ticket.service_id == KioskBlock.service_id,
                Ticket.day == KioskBlock.day,
                Ticket.seq >= KioskBlock.first_seq,
                Ticket.seq <= KioskBlock.last_seq,
            ),
        )
        .where(KioskBlock.device_id == device_id, KioskBlock.day.in_(days))
        .group_by(KioskBlock.id)
    ).all()
    return {int(block_id): int(used) for block_id, used in rows}


def replenish(
    session: Session, *, device_id: str, settings: Settings, now: dt.datetime
) -> KioskBlocks:
    """Top up one kiosk's blocks (one transaction) and describe them."""
    size = settings.kiosk.offline_block
    today = operating_day(now, settings.queue)
    days = [today + dt.timedelta(days=n) for n in range(settings.kiosk.days_ahead + 1)]
    areas: dict[int, ServiceArea] = {}

    def work() -> tuple[list[Service], list[KioskBlock], dict[int, int]]:
        services = list(
            session.scalars(select(Service).where(Service.active.is_(True)).order_by(Service.id))
        )
        areas.update({a.id: a for a in session.scalars(select(ServiceArea))})
        blocks = list(
            session.scalars(
                select(KioskBlock).where(
                    KioskBlock.device_id == device_id, KioskBlock.day.in_(days)
                )
            )
        )
        used = _used_in_blocks(session, device_id, days)
        for svc in services:
            for day in days:
                mine = [b for b in blocks if b.service_id == svc.id and b.day == day]
                unused = sum(b.last_seq - b.first_seq + 1 - used.get(b.id, 0) for b in mine)
                if unused >= size:
                    continue
                counter = locking.lock_counter(session, svc.id, day)
                first = max(counter.last_number + 1, svc.number_start)
                last = min(first + size - 1, svc.number_end)
                if first > last:
                    continue  # the day's range is used up
                counter.last_number = last
                block = KioskBlock(
                    device_id=device_id, service_id=svc.id, day=day,
                    first_seq=first, last_seq=last, reserved_at=now,
                )  # fmt: skip
                session.add(block)
                session.flush()
                blocks.append(block)
                log.info(
                    "kiosk %s: reserved %s %d-%d for %s", device_id, svc.code, first, last, day
                )
        return services, blocks, used

    services, blocks, used = locking.run_write(session, work)
    codes = {s.id: s.code for s in services}
    shown = [
        NumberBlock(service=codes[b.service_id], day=b.day.isoformat(), first=b.first_seq,
                    last=b.last_seq)
        for b in sorted(blocks, key=lambda b: (b.service_id, b.day, b.first_seq))
        if b.service_id in codes and used.get(b.id, 0) < b.last_seq - b.first_seq + 1
    ]  # fmt: skip
    return KioskBlocks(
        services=tuple(
            _kiosk_service(s, areas.get(s.area_id))
            for s in sorted(services, key=lambda s: (_area_order(areas.get(s.area_id)), s.id))
        ),
        blocks=tuple(shown[-400:]),
        timezone=settings.queue.timezone,
        day_rollover=_hhmm(settings.queue.day_rollover),
        citizen_base_url=citizen_base_url(settings),
        hub_time=now,
    )


# --- offline tickets -----------------------------------------------------------------------


def apply_offline(
    session: Session,
    *,
    device_id: str,
    data: dict[str, Any],
    bus: QueueBus,
    settings: Settings,
    now: dt.datetime,
) -> str:
    """Add one offline ticket to its queue at its original time; returns what happened."""
    try:
        t = OfflineTicket.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "data"
        log.warning("kiosk %s: malformed offline ticket: %s: %s", device_id, where, first["msg"])
        return "malformed"
    issued_at = t.issued_at if t.issued_at.tzinfo else t.issued_at.replace(tzinfo=dt.UTC)
    citizen_hash = masked = phone = None
    if t.citizen_id:
        try:
            normalised = normalise_identity(t.citizen_id)
            citizen_hash = hash_identity(normalised, identity_key(settings))
            masked = mask_identity(normalised)
            phone = normalised if privacy.is_mobile(normalised) else None
        except QueueError:
            log.info("kiosk %s: offline ticket %s: identity ignored", device_id, t.number)
    priority, reason = Priority.NORMAL, None
    if t.priority == Priority.GREEN.value and t.priority_reason in reasons.PRIORITY:
        priority, reason = Priority.GREEN, t.priority_reason
    elif t.priority != Priority.NORMAL.value:
        log.warning("kiosk %s: offline ticket %s: priority %s without a valid reason; normal",
                    device_id, t.number, t.priority)  # fmt: skip

    def work(tx: Txn) -> str:
        svc = tx.session.scalar(select(Service).where(Service.code == t.service))
        if svc is None:
            return "unknown service"
        block = tx.session.scalar(
            select(KioskBlock.id).where(
                KioskBlock.device_id == device_id,
                KioskBlock.service_id == svc.id,
                KioskBlock.day == t.day,
                KioskBlock.first_seq <= t.seq,
                KioskBlock.last_seq >= t.seq,
            )
        )
        if block is None:
            return "not in a block of this kiosk"
        counter = locking.lock_counter(tx.session, svc.id, t.day)
        existing = tx.session.scalar(
            select(Ticket.id).where(
                Ticket.service_id == svc.id, Ticket.day == t.day, Ticket.seq == t.seq
            )
        )
        if existing is not None:
            return "duplicate"
        counter.issued += 1
        ticket = Ticket(
            day=t.day, service_id=svc.id, seq=t.seq, number=format_number(svc, t.seq),
            channel=TicketChannel.OFFLINE_BLOCK.value, priority=priority.value,
            priority_reason=reason, citizen_hash=citizen_hash, citizen_masked=masked,
            token=t.token, issued_at=issued_at, queued_at=issued_at, recalls=0,
        )  # fmt: skip
        detail = {
            "channel": TicketChannel.OFFLINE_BLOCK.value,
            "priority": priority.value,
            "device": device_id,
            "reconciled_at": now.isoformat(),
        }
        if t.matter:
            detail["matter"] = t.matter
        tx.transition(ticket, Verb.ISSUE, reason=reason, detail=detail)
        if phone is not None:
            notify.store_contact(
                tx.session, ticket=ticket, phone=phone,
                cipher=notify.ContactCipher.from_settings(settings),
                signature=settings.notify.signature,
            )  # fmt: skip
        if reason is not None:
            tx.fairness(
                FairnessKind.GREEN_CHANNEL, reason, ticket,
                detail={"priority": priority.value, "at": "offline issue", "device": device_id},
            )  # fmt: skip
        return "added"

    try:
        outcome = run(session, work, bus=bus, settings=settings.queue, now=issued_at, day=t.day)
    except Exception:
        log.exception("kiosk %s: offline ticket %s could not be applied", device_id, t.number)
        return "failed"
    if outcome == "added":
        log.info("kiosk %s: offline ticket %s of %s joined its queue", device_id, t.number, t.day)
    elif outcome != "duplicate":
        log.warning("kiosk %s: offline ticket %s refused: %s", device_id, t.number, outcome)
    return outcome


def unapplied_offline_events(session: Session, *, since: dt.datetime) -> list[DeviceEvent]:
    """Stored ``ticket_offline`` events whose ticket is not in the queue."""
    events = session.scalars(
        select(DeviceEvent)
        .where(DeviceEvent.name == OFFLINE_EVENT, DeviceEvent.received_at >= since)
        .order_by(DeviceEvent.id)
    ).all()
    codes = {code: sid for code, sid in session.execute(select(Service.code, Service.id))}
    missing: list[DeviceEvent] = []
    for event in events:
        try:
            t = OfflineTicket.model_validate(event.data)
        except ValidationError:
            continue
        sid = codes.get(t.service)
        if sid is None:
            continue
        found = session.scalar(
            select(Ticket.id).where(
                Ticket.service_id == sid, Ticket.day == t.day, Ticket.seq == t.seq
            )
        )
        if found is None:
            missing.append(event)
    return missing


# --- wiring ------------------------------------------------------------------------------------


class KioskDesk:
    """The hub's kiosk counter: wired to the bridge like `CallerButtons`."""

    def __init__(
        self,
        *,
        bridge: HubBridge,
        sessions: sessionmaker[Session],
        bus: QueueBus,
        settings: Settings,
        clock: HubClock,
    ) -> None:
        self._bridge = bridge
        self._sessions = sessions
        self._bus = bus
        self._settings = settings
        self._clock = clock
        self._events: asyncio.Queue[tuple[str, str, dict[str, Any]]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._requests: set[asyncio.Task[None]] = set()
        self._topup: set[str] = set()
        self._supplied: set[str] = set()
        self._topup_wake: asyncio.Event | None = None
        self.applied: dict[str, int] = {}
        """Outcomes of offline tickets so far (for tests and logs)."""

    def attach(self) -> None:
        self._bridge.on_new_event.append(self.on_event)
        self._bridge.on_device_message.append(self.on_message)
        self._bridge.on_connected.append(self.replenish_all)
        self._bridge.on_status.append(self.on_status)

    async def start(self) -> None:
        self._events = asyncio.Queue()
        self._topup_wake = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._apply_loop(), name="kiosk-offline-tickets"),
            asyncio.create_task(self._replenish_loop(), name="kiosk-blocks"),
        ]
        await self._sweep()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def idle(self) -> None:
        """Wait until every request and offline ticket so far is handled (tests)."""
        while self._requests:
            await asyncio.gather(*list(self._requests), return_exceptions=True)
        if self._events is not None:
            await self._events.join()

    def _is_kiosk(self, device_id: str) -> str | None:
        """None when the device may take tickets, else the refusal."""
        snap = self._bridge.snapshot(device_id)
        if snap is None:
            return None  # its birth is still on the writer's queue
        if snap.kind != DeviceKind.KIOSK.value:
            return "该设备不是取号机"
        if snap.retired or not snap.enabled:
            return "本机已停用，请到服务台取号"
        return None

    # --- online -------------------------------------------------------------------------

    def on_message(self, channel: Channel, device_id: str, payload: Payload) -> None:
        if channel is not Channel.TICKET_REQUEST or not isinstance(payload, TicketRequest):
            return
        log.debug("kiosk %s: ticket request %s", device_id, payload.request_id)
        refusal = self._is_kiosk(device_id)
        if device_id not in self._supplied:
            self._supplied.add(device_id)
            self.wake_topup(device_id)  # a kiosk new to this hub process gets blocks now
        if refusal is not None:
            log.warning("ticket request from %s refused: %s", device_id, refusal)
            self._reply(
                device_id, TicketReply(request_id=payload.request_id, ok=False, reason=refusal)
            )
            return
        task = asyncio.get_running_loop().create_task(self._request(device_id, payload))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _request(self, device_id: str, request: TicketRequest) -> None:
        now = self._clock.now()

        def work() -> TicketReply | None:
            with self._sessions() as session:
                return handle_request(
                    session, device_id=device_id, request=request, bus=self._bus,
                    settings=self._settings, now=now,
                )  # fmt: skip

        try:
            reply = work()  # on the loop: see `txn`, "Where a verb runs"
        except Exception:
            log.exception("kiosk %s: ticket request %s failed", device_id, request.request_id)
            reply = TicketReply(
                request_id=request.request_id, ok=False, reason="系统繁忙，请稍后再试"
            )
        if reply is not None:
            self._reply(device_id, reply)

    def _reply(self, device_id: str, reply: TicketReply) -> None:
        reply = reply.model_copy(update={"hub_time": self._clock.now()})
        self._bridge.mqtt.publish(self._bridge.topics.ticket_reply(device_id), encode(reply), qos=0)

    # --- events -------------------------------------------------------------------------

    def on_event(self, device_id: str, name: str, event: Event) -> None:
        if name not in (OFFLINE_EVENT, VOID_EVENT) or self._events is None:
            return
        self._events.put_nowait((device_id, name, dict(event.data)))

    async def _apply_loop(self) -> None:
        assert self._events is not None
        while True:
            device_id, name, data = await self._events.get()
            try:
                await asyncio.to_thread(self._apply_one, device_id, name, data)
            except Exception:
                log.exception("kiosk %s: %s failed", device_id, name)
            finally:
                self._events.task_done()

    def _apply_one(self, device_id: str, name: str, data: dict[str, Any]) -> None:
        now = self._clock.now()
        with self._sessions() as session:
            if name == VOID_EVENT:
                request_id = data.get("request_id")
                if isinstance(request_id, str) and 8 <= len(request_id) <= 64:
                    void_request(
                        session, device_id=device_id, request_id=request_id, bus=self._bus,
                        settings=self._settings, now=now,
                    )  # fmt: skip
                else:
                    log.warning("kiosk %s: ticket_void without a valid request id", device_id)
                return
            outcome = apply_offline(
                session, device_id=device_id, data=data, bus=self._bus,
                settings=self._settings, now=now,
            )  # fmt: skip
        self.applied[outcome] = self.applied.get(outcome, 0) + 1
        if outcome == "added":
            self.wake_topup(device_id)

    async def _sweep(self) -> None:
        """Apply stored offline tickets that a crash kept out of the queue."""
        since = self._clock.now() - dt.timedelta(days=SWEEP_DAYS)

        def find() -> list[tuple[str, dict[str, Any]]]:
            with self._sessions() as session:
                return [(e.device_id, dict(e.data)) for e in
                        unapplied_offline_events(session, since=since)]  # fmt: skip

        try:
            missing = await asyncio.to_thread(find)
        except Exception:
            log.exception("sweep of offline kiosk tickets failed")
            return
        if missing:
            log.warning("%d stored offline ticket(s) not in the queue; applying", len(missing))
        assert self._events is not None
        for device_id, data in missing:
            self._events.put_nowait((device_id, OFFLINE_EVENT, data))

    # --- blocks -------------------------------------------------------------------------

    def wake_topup(self, device_id: str) -> None:
        self._topup.add(device_id)
        if self._topup_wake is not None:
            self._topup_wake.set()

    def on_status(self, device_id: str, status: DeviceStatus) -> None:
        """A kiosk's birth: its blocks now, not at the next round (a new kiosk
        could not issue offline until then)."""
        if status.kind == DeviceKind.KIOSK and status.state == DeviceState.ONLINE:
            self.wake_topup(device_id)

    def replenish_all(self) -> None:
        """Top up every kiosk soon (the hub (re)connected)."""
        self._topup.update(self._kiosk_ids())
        if self._topup_wake is not None:
            self._topup_wake.set()

    def _kiosk_ids(self) -> list[str]:
        return [
            snap.id
            for snap in self._bridge.snapshots()
            if snap.kind == DeviceKind.KIOSK.value and not snap.retired
        ]

    async def _replenish_loop(self) -> None:
        assert self._topup_wake is not None
        period = self._settings.kiosk.replenish_s
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(period):
                    await self._topup_wake.wait()
            self._topup_wake.clear()
            if not self._topup:
                self._topup.update(self._kiosk_ids())  # the periodic round: every kiosk
            devices, self._topup = sorted(self._topup), set()
            self._supplied.update(devices)
            for device_id in devices:
                try:
                    await self.replenish(device_id)
                except Exception:
                    log.exception("kiosk %s: replenishing blocks failed", device_id)

    async def replenish(self, device_id: str) -> KioskBlocks:
        """Top up one kiosk now and publish its retained blocks."""
        now = self._clock.now()

        def work() -> KioskBlocks:
            with self._sessions() as session:
                return replenish(session, device_id=device_id, settings=self._settings, now=now)

        blocks = await asyncio.to_thread(work)
        self.publish_blocks(device_id, blocks)
        return blocks

    def publish_blocks(self, device_id: str, blocks: KioskBlocks) -> None:
        blocks = blocks.model_copy(update={"hub_time": self._clock.now()})
        topic = self._bridge.topics.blocks(device_id)
        self._bridge.mqtt.publish(topic, encode(blocks), qos=1, retain=True)


_APP_KEY: Final = "anxin_kiosk_desk"


def attach_desk(app: FastAPI, desk: KioskDesk) -> None:
    setattr(app.state, _APP_KEY, desk)


def kiosk_desk(app: FastAPI) -> KioskDesk:
    """The `KioskDesk` of a hub app made by `central.app.create_app`."""
    desk = getattr(app.state, _APP_KEY, None)
    if not isinstance(desk, KioskDesk):
        raise RuntimeError("this app has no kiosk desk")
    return desk
