"""The ticket kiosk: touch screen and thermal printer; issues tickets online
through the hub and offline from reserved number blocks.

What the UI uses: ``ticket_source()`` (or ``ticket_source(device_id)`` when a
process runs several kiosks) returns the `Kiosk` of the running kiosk agent,
which implements `edge.kinds.kiosk_api.TicketSource`::

    from edge.kinds.kiosk import ticket_source
    kiosk = ticket_source()
    ticket = await kiosk.take("general", citizen_id="13800138000")  # or TicketRefused
    kiosk.attach_printer(lambda: printer.state().value)  # health shows the printer

- **Online** (`Kiosk.online`: connected, the hub's retained status online
  and no unanswered request in the last ``kiosk.retry_online_s``): a
  `TicketRequest` on the kiosk's ``ticket_req`` topic, QoS 0, never through
  the outbox; the answer comes on ``ticket_reply`` within
  ``kiosk.request_timeout_s`` or the kiosk gives up on it, emits a
  ``ticket_void`` event (outbox) for that request id and issues offline.
- **Offline**: from the blocks the hub reserved (retained ``blocks``, kept in
  `edge.kinds.kiosk_journal`): the service's hours are checked against the
  kiosk's copy of the hub's clock, the ticket is committed to the journal,
  then handed to the outbox as a ``ticket_offline`` event; the hub adds it to
  its queue at its original issue time. The QR URL printed offline works as
  soon as the hub has the ticket (the token is made here).
- **Offline closing time**: offline, the kiosk stops issuing a service when
  the forecast wait passes the service's closing time, as the hub does
  (`offline_forecast_s`, docs/kiosk.md): the last ``hall/queue/{service}``
  estimate plus the tickets this kiosk issued offline since, each worth the
  service's average handling time over its open windows; with no hall state
  known, only the opening hours apply.
- **Health**: the heartbeat's ``ports.printer`` is the printer's state (the
  attached printer's, else the port's).
- **Local control** (simulations, tests, the benchmark): with ``--sim`` or
  ``kiosk.control_socket``, `edge.kinds.kiosk_control` serves JSON lines on
  the Unix socket ``{data_dir}/devices/{id}/control.sock``; ``anxin kiosk take
  SERVICE --id kiosk-01`` is its client (``anxin kiosk status`` too).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from anxin.settings import KioskSettings
from broker.contract import (
    Channel,
    DeviceKind,
    HallQueue,
    KioskBlocks,
    KioskService,
    Message,
    TicketReply,
    TicketRequest,
    encode,
    new_id,
)
from edge.kinds.base import DeviceApi, KindSpec
from edge.kinds.kiosk_api import IssuedTicket, TicketRefused
from edge.kinds.kiosk_journal import AlreadyHolds, BlocksExhausted, KioskJournal
from edge.ports.idcard import IdCardReader
from edge.ports.printer import Printer
from edge.ports.scanner import Scanner

log = logging.getLogger(__name__)

CLOCK_KEY: Final = "hub_clock_offset_s"
DEFAULT_HANDLING_S: Final = 600  # the hub's default (Service.avg_handling_s), for old hubs
CLOSING_REFUSAL: Final = "今日该业务已停止取号：预计等候将超过下班时间"  # as the hub says it
_CLOCK_PERSIST_S: Final = 1.0

_kiosks: dict[str, Kiosk] = {}
ControlOp = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def ticket_source(device_id: str | None = None) -> Kiosk:
    """The running kiosk of this process (by id when there are several)."""
    if device_id is not None:
        return _kiosks[device_id]
    if len(_kiosks) != 1:
        raise LookupError(f"{len(_kiosks)} kiosks run in this process; name one")
    return next(iter(_kiosks.values()))


class Kiosk:
    """One kiosk's ticket source (`TicketSource`), online or offline."""

    def __init__(self, device: DeviceApi, settings: KioskSettings | None = None) -> None:
        self._device = device
        self.settings = settings or KioskSettings()
        self.journal = KioskJournal(device.data_dir / "kiosk.sqlite3")
        self._pending: dict[str, asyncio.Future[TicketReply]] = {}
        self._gave_up_at = float("-inf")
        offset = self.journal.get_meta(CLOCK_KEY)
        self._clock_offset = float(offset) if offset is not None else 0.0
        self.offline_issued = 0
        self.online_issued = 0
        self.rejected_replies = 0
        self.control: asyncio.Task[None] | None = None
        self.control_ops: dict[str, ControlOp] = {}
        """Extra local-control ops by name (the kiosk UI adds its own)."""
        self._queue_seen: dict[str, dt.datetime] = {}
        """Service → when (hub clock) its latest ``hall/queue`` figures arrived."""

    # --- TicketSource --------------------------------------------------------------

    @property
    def online(self) -> bool:
        recently_failed = time.monotonic() - self._gave_up_at < self.settings.retry_online_s
        return self._device.hub_online and not recently_failed

    async def take(
        self,
        service: str,
        *,
        priority: str = "normal",
        priority_reason: str | None = None,
        citizen_id: str | None = None,
        matter: str | None = None,
    ) -> IssuedTicket:
        """A ticket from the hub, or from the offline block when the hub is away
        or too slow; raises `TicketRefused` with the reason in Chinese."""
        if priority not in ("normal", "green"):
            raise TicketRefused("取号类型不正确")
        log.debug("%s: take %s (online %s)", self.device_id, service, self.online)
        if self.online:
            ticket = await self._take_online(service, priority, priority_reason, citizen_id, matter)
            if ticket is not None:
                return ticket
        return self._take_offline(service, priority, priority_reason, citizen_id, matter)

    async def check_in(self, code: str) -> IssuedTicket:
        """Check in an appointment through the hub (never offline: only the hub
        knows the booking); raises `TicketRefused` with the reason in Chinese."""
        if not self.online:
            raise TicketRefused("网络中断，暂时无法预约签到，请到服务台办理或稍后再试")
        try:
            request = TicketRequest(request_id=new_id(), appointment_code=code)
        except ValueError:
            raise TicketRefused("未能识别预约码，请出示预约二维码") from None
        reply = await self._ask(request)
        if reply is None:
            # No ticket_void: a check-in the hub did make is found by a second scan.
            raise TicketRefused("网络不稳定，签到未完成，请稍后重新扫码，或到服务台办理")
        return self._ticket_of(reply)

    # --- online ------------------------------------------------------------------------

    async def _ask(self, request: TicketRequest, *, void: bool = False) -> TicketReply | None:
        """Send a request and wait for its reply; None when not sent or timed out.
        With `void`, a request given up on is voided (`_give_up`)."""
        future: asyncio.Future[TicketReply] = asyncio.get_running_loop().create_future()
        self._pending[request.request_id] = future
        try:
            topic = self._device.topics.ticket_request(self._device.device_id)
            if not self._device.send(topic, encode(request), qos=0):
                return None
            try:
                async with asyncio.timeout(self.settings.request_timeout_s):
                    return await future
            except TimeoutError:
                if void:
                    self._give_up(request.request_id)
                else:
                    self._gave_up_at = time.monotonic()
                    log.warning("%s: no answer to request %s", self.device_id, request.request_id)
                return None
        finally:
            self._pending.pop(request.request_id, None)

    def _ticket_of(self, reply: TicketReply) -> IssuedTicket:
        if not reply.ok:
            raise TicketRefused(reply.reason or "暂时无法取号，请稍后再试")
        if reply.number is None or reply.issued_at is None or reply.service is None:
            raise TicketRefused("暂时无法取号，请稍后再试")
        self.online_issued += 1
        return IssuedTicket(
            number=reply.number,
            service=reply.service,
            service_name=reply.service_name or reply.service,
            issued_at=reply.issued_at,
            citizen_url=reply.citizen_url or "",
            ahead=reply.ahead,
            minutes=reply.minutes,
            offline=False,
            priority=reply.priority,
        )

    async def _take_online(
        self,
        service: str,
        priority: str,
        priority_reason: str | None,
        citizen_id: str | None,
        matter: str | None,
    ) -> IssuedTicket | None:
        try:
            request = TicketRequest(
                request_id=new_id(),
                service=service,
                priority=priority,  # checked in take
                priority_reason=priority_reason or None,
                citizen_id=citizen_id or None,
                matter=matter or None,
            )
        except ValueError:
            raise TicketRefused("取号信息格式不正确，请重新选择") from None
        # Not sent (not connected) or not answered in time: the caller issues offline.
        reply = await self._ask(request, void=True)
        return None if reply is None else self._ticket_of(reply)

    def _give_up(self, request_id: str) -> None:
        """The hub did not answer in time: issue offline, and make sure a ticket the
        hub may still issue for this request is cancelled (nobody holds it)."""
        self._gave_up_at = time.monotonic()
        log.warning("%s: no answer to ticket request %s; offline", self.device_id, request_id)
        self._device.emit("ticket_void", {"request_id": request_id})

    def _on_reply(self, msg: Message) -> None:
        reply = msg.payload
        assert isinstance(reply, TicketReply)
        self._set_clock(reply.hub_time)
        future = self._pending.get(reply.request_id)
        if future is None:
            self.rejected_replies += 1
            log.info("%s: reply to unknown request %s", self.device_id, reply.request_id)
            return
        if not future.done():
            future.set_result(reply)
        if self._gave_up_at > float("-inf"):
            self._gave_up_at = float("-inf")  # the hub answers again

    # --- offline -----------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The hub's time as this kiosk last learned it (its own clock plus the offset)."""
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._clock_offset)

    def _set_clock(self, hub_time: dt.datetime) -> None:
        offset = (hub_time - dt.datetime.now(dt.UTC)).total_seconds()
        changed = abs(offset - self._clock_offset) > _CLOCK_PERSIST_S
        self._clock_offset = offset
        if changed:
            self.journal.set_meta(CLOCK_KEY, repr(offset))

    def _catalogue(self) -> KioskBlocks | None:
        raw = self.journal.catalogue()
        if raw is None:
            return None
        try:
            return KioskBlocks.model_validate({**raw, "blocks": []})
        except ValueError:
            log.exception("%s: stored catalogue unreadable", self.device_id)
            return None

    def operating_day(self, at: dt.datetime, catalogue: KioskBlocks) -> tuple[dt.date, dt.time]:
        local = at.astimezone(_zone(catalogue))
        rollover = dt.time.fromisoformat(catalogue.day_rollover)
        day = local.date() - dt.timedelta(days=1) if local.time() < rollover else local.date()
        return day, local.time()

    def services(self) -> list[KioskService]:
        """The hall's services as the kiosk last heard them from the hub."""
        catalogue = self._catalogue()
        return [] if catalogue is None else list(catalogue.services)

    def _take_offline(
        self,
        service: str,
        priority: str,
        priority_reason: str | None,
        citizen_id: str | None,
        matter: str | None,
    ) -> IssuedTicket:
        catalogue = self._catalogue()
        svc = None if catalogue is None else next(
            (s for s in catalogue.services if s.code == service), None
        )  # fmt: skip
        if catalogue is None or svc is None:
            raise TicketRefused("网络中断，本机暂不能办理该业务的取号，请到服务台咨询")
        now = self.now()
        day, local = self.operating_day(now, catalogue)
        opens, closes = dt.time.fromisoformat(svc.opens_at), dt.time.fromisoformat(svc.closes_at)
        if not opens <= local < closes:
            raise TicketRefused(
                f"“{svc.name}”的取号时间为 {svc.opens_at}–{svc.closes_at}，现在不在办理时间内"
            )
        if priority == "green" and not priority_reason:
            raise TicketRefused("绿色通道取号需要选择优先原因")
        self._check_closing(svc, day, now, catalogue)
        try:
            ticket = self.journal.issue(
                service=svc.code,
                day=day.isoformat(),
                prefix=svc.prefix,
                width=svc.width,
                issued_at=now,
                priority=priority,
                priority_reason=priority_reason if priority == "green" else None,
                citizen_key=self.journal.citizen_key(citizen_id) if citizen_id else None,
                matter=matter,
            )
        except AlreadyHolds as held:
            raise TicketRefused(
                f"您已有“{svc.name}”的有效号码 {held.number}，请勿重复取号"
            ) from None
        except BlocksExhausted:
            log.warning("%s: offline numbers of %s used up", self.device_id, service)
            raise TicketRefused("网络中断，离线号码已用完，请到服务台人工取号") from None
        data = {
            "service": ticket.service,
            "day": ticket.day,
            "seq": ticket.seq,
            "number": ticket.number,
            "token": ticket.token,
            "issued_at": ticket.issued_at.isoformat(),
            "priority": ticket.priority,
            "priority_reason": ticket.priority_reason,
            "matter": ticket.matter,
        }
        if citizen_id:
            data["citizen_id"] = citizen_id
        self._device.emit("ticket_offline", data, event_id=ticket.event_id)
        self.journal.mark_emitted(ticket.event_id)
        self.offline_issued += 1
        queue = self._device.board.get(self._device.topics.hall_queue(svc.code))
        ahead = getattr(queue, "waiting", None)
        minutes = getattr(queue, "estimated_wait_min", None)
        log.info("%s: offline ticket %s (%s)", self.device_id, ticket.number, ticket.day)
        return IssuedTicket(
            number=ticket.number,
            service=svc.code,
            service_name=svc.name,
            issued_at=ticket.issued_at,
            citizen_url=f"{catalogue.citizen_base_url.rstrip('/')}/t/{ticket.token}",
            ahead=ahead if isinstance(ahead, int) else None,
            minutes=minutes if isinstance(minutes, int) else None,
            offline=True,
            priority=ticket.priority,
        )

    def _on_queue(self, msg: Message) -> None:
        if isinstance(msg.payload, HallQueue):
            self._queue_seen[msg.payload.service] = self.now()

    def offline_forecast_s(self, svc: KioskService, day: dt.date) -> float | None:
        """Seconds a ticket of `svc` taken offline now would wait, or None when the
        kiosk has no hall state for it. The hub's last estimate (its waiting count
        at the average handling time when no window served the service), plus
        every ticket this kiosk issued offline since those figures arrived, each
        adding the average handling time over the open windows (at least one).
        Time passing is not subtracted: offline, nobody tells the kiosk who was
        served, so it rather stops early than issue tickets past closing time."""
        queue = self._device.board.get(self._device.topics.hall_queue(svc.code))
        if not isinstance(queue, HallQueue):
            return None
        handling = float(svc.avg_handling_s or DEFAULT_HANDLING_S)
        if queue.estimated_wait_min is not None:
            base = queue.estimated_wait_min * 60.0
        else:
            base = queue.waiting * handling
        since = 0
        if (seen := self._queue_seen.get(svc.code)) is not None:
            since = sum(
                1
                for t in self.journal.tickets(day.isoformat())
                if t.service == svc.code and t.issued_at >= seen
            )
        return base + since * handling / max(1, queue.open_windows)

    def _check_closing(
        self, svc: KioskService, day: dt.date, now: dt.datetime, catalogue: KioskBlocks
    ) -> None:
        forecast = self.offline_forecast_s(svc, day)
        if forecast is None:
            return  # no hall state: the opening hours alone decide
        closes = dt.datetime.combine(day, dt.time.fromisoformat(svc.closes_at), _zone(catalogue))
        if now + dt.timedelta(seconds=forecast) > closes:
            log.info(
                "%s: offline %s refused: forecast %.0f s passes %s",
                self.device_id, svc.code, forecast, svc.closes_at,
            )  # fmt: skip
            raise TicketRefused(CLOSING_REFUSAL)

    def _recover(self) -> None:
        """Journalled tickets a crash kept from the outbox go there now."""
        for ticket in self.journal.not_emitted():
            log.info("%s: re-emitting offline ticket %s", self.device_id, ticket.number)
            self._device.emit(
                "ticket_offline",
                {
                    "service": ticket.service,
                    "day": ticket.day,
                    "seq": ticket.seq,
                    "number": ticket.number,
                    "token": ticket.token,
                    "issued_at": ticket.issued_at.isoformat(),
                    "priority": ticket.priority,
                    "priority_reason": ticket.priority_reason,
                    "matter": ticket.matter,
                },
                event_id=ticket.event_id,
            )
            self.journal.mark_emitted(ticket.event_id)

    # --- blocks ------------------------------------------------------------------------

    def _on_blocks(self, msg: Message) -> None:
        blocks = msg.payload
        assert isinstance(blocks, KioskBlocks)
        if not msg.retained:  # a retained copy may be hours old: its clock is not now
            self._set_clock(blocks.hub_time)
        day, _ = self.operating_day(self.now(), blocks)
        added = self.journal.store_blocks(blocks, today=day.isoformat())
        if added:
            log.info("%s: %d new number block(s)", self.device_id, added)

    # --- health ------------------------------------------------------------------------

    def attach_printer(self, read_state: object) -> None:
        """Report this printer's state in the heartbeat: a callable returning the
        state text. It runs on the agent's loop with every heartbeat, so it must
        not wait for a print job: read the port's ``state``
        (`printer.service.TicketPrinter.state_now`), never ``tickets.state()``."""
        if not callable(read_state):
            raise TypeError("attach_printer wants a callable returning the state")
        self._device.port_state("printer", lambda: str(read_state()))

    @property
    def device_id(self) -> str:
        return self._device.device_id

    @property
    def printer(self) -> Printer | None:
        """The printer port (the bytes transport)."""
        return self._device.ports.printer

    @property
    def scanner(self) -> Scanner | None:
        """The code scanner port (appointment QR codes), if the kiosk has one."""
        return self._device.ports.scanner

    @property
    def idcard(self) -> IdCardReader | None:
        """The 居民身份证 reader port (per-person limits), if the kiosk has one."""
        return self._device.ports.idcard

    def today(self) -> str:
        """The operating day by the hub's clock ('' before the first catalogue)."""
        catalogue = self._catalogue()
        return "" if catalogue is None else self.operating_day(self.now(), catalogue)[0].isoformat()

    def close(self) -> None:
        if self.control is not None:
            self.control.cancel()
        if _kiosks.get(self.device_id) is self:
            del _kiosks[self.device_id]
        self.journal.close()


def setup(device: DeviceApi) -> None:
    settings = device.settings
    kiosk = Kiosk(device, settings.kiosk if settings is not None else None)
    _kiosks[device.device_id] = kiosk
    device.on_channel(Channel.TICKET_REPLY, kiosk._on_reply)
    device.on_channel(Channel.BLOCKS, kiosk._on_blocks)
    device.on_channel(Channel.HALL_QUEUE, kiosk._on_queue)
    kiosk._recover()
    if settings is not None and settings.kiosk.control_socket:
        from edge.kinds.kiosk_control import serve_control

        kiosk.control = serve_control(kiosk, device.data_dir, settings.hall_name)


def _zone(catalogue: KioskBlocks) -> ZoneInfo:
    try:
        return ZoneInfo(catalogue.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


SPEC = KindSpec(
    DeviceKind.KIOSK,
    ("screen", "printer", "scanner", "idcard"),
    setup,
    "ticket kiosk: screen, printer, appointment scanner and ID card reader",
)
