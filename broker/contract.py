"""The MQTT contract between the hub and every device: topics and payloads.

This is the only module that knows topic strings. Hub and devices both import
it; `docs/mqtt.md` is generated from it (`anxin docs mqtt`).

Topic tree (``{root}`` is ``anxin/v1/{hall}``)::

    {root}/hub/status                 retained  HubStatus       hub -> all
    {root}/dev/{id}/status            retained  DeviceStatus    device (birth) / broker (will)
    {root}/dev/{id}/health                      Health          device -> hub (heartbeat)
    {root}/dev/{id}/evt/{name}        QoS 1     Event           device -> hub
    {root}/dev/{id}/ack               QoS 1     EventAck        hub -> device
    {root}/dev/{id}/cmd/{name}        QoS 1     Command         hub -> device (never retained)
    {root}/dev/{id}/result            QoS 1     CommandResult   device -> hub
    {root}/dev/{id}/config            retained  DeviceConfig    hub -> device
    {root}/dev/{id}/ticket_req        QoS 0     TicketRequest   kiosk -> hub (one tap)
    {root}/dev/{id}/ticket_reply      QoS 0     TicketReply     hub -> kiosk (the answer)
    {root}/dev/{id}/blocks            retained  KioskBlocks     hub -> kiosk (offline numbers)
    {root}/hall/calls                 retained  HallCalls       hub -> boards (last N calls)
    {root}/hall/window/{n}            retained  HallWindow      hub -> boards (one per window)
    {root}/hall/queue/{service}       retained  HallQueue       hub -> boards (one per service)
    {root}/hall/matters               retained  HallMatters     hub -> kiosks (library manifest)
    {root}/hall/{name}                retained  HallState       hub -> boards (other names)

Conventions follow Sparkplug B 3.0 (birth/death with a per-connection counter,
``bdSeq``), Home Assistant (retained availability) and zigbee2mqtt (one device
branch per device). A device may write only its own branch and never ``cmd``,
``ack`` or ``config``; only the hub writes those (see `acl_rules`).

Kiosk tickets (取号), online and offline:

- **Online, a request/response pair.** A tap publishes a `TicketRequest`
  with a fresh ``request_id`` on the kiosk's own ``ticket_req``; the hub
  issues through the queue service (channel ``kiosk``) and answers on that
  kiosk's ``ticket_reply`` with the same id: the ticket, or a refusal with
  its Chinese reason. Both are QoS 0 and never retained, and the request
  never goes through the durable outbox: a ticket request must not be
  replayed later (a citizen who left must not get a ticket an hour after
  the tap). QoS 0 is never redelivered after a reconnection; a request or
  answer that is lost is one the kiosk has already given up on. The hub
  claims each (device, request id) once in its database, so a duplicate or
  a second hub worker never issues twice.
- **Offline, from reserved blocks.** While online, the hub keeps every kiosk
  supplied with number blocks per service and operating day (retained
  ``blocks``, a `KioskBlocks`; it also carries the services, their opening
  hours and the hub's clock). Reserved numbers advance the service's day
  counter, so online issuing never uses them. When the hub does not answer
  within the kiosk's timeout, the kiosk issues from its block, journals the
  ticket in its SQLite file before it is printed, and reports it through the
  durable outbox as a ``ticket_offline`` event; the hub adds it to its queue
  at its original issue time (channel ``offline_block``), once. A kiosk that
  gave up on a request it had sent emits ``ticket_void`` (outbox) with the
  request id: should the hub have issued it after all, that ticket is
  cancelled (nobody holds it), and a request that arrives after its void is
  not issued.
- **Appointment check-in (预约签到), the same pair.** A scanned booking QR
  code is a `TicketRequest` with ``appointment_code`` (and no ``service``):
  the hub checks the booking in (channel and priority ``appointment``, the
  slot as ``appointment_at``) and answers with a `TicketReply` like a tap,
  ``priority`` ``appointment``, or the refusal (too early, too late,
  cancelled, already checked in). A check-in needs the hub: a kiosk that gets
  no answer says so, sends no ``ticket_void`` and never issues it offline; a
  second scan then tells the number if the first one did check in.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCHEMA_VERSION: Final = 1
TOPIC_PREFIX: Final = "anxin/v1"
MAX_PAYLOAD_BYTES: Final = 64 * 1024
"""Anything larger is rejected before parsing: no legitimate message is near it."""

_ID_RE: Final = r"[a-z0-9][a-z0-9_-]{0,62}"
DeviceId = Annotated[str, Field(pattern=f"^{_ID_RE}$", description="device id, e.g. kiosk-01")]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class DeviceKind(StrEnum):
    KIOSK = "kiosk"
    CALLER = "caller"
    DISPLAY = "display"
    SIGNLANG = "signlang"


# The hall topics each kind reads (topic suffixes under ``{root}/hall/``). A
# caller needs only the windows (its ticket display), a sign-language terminal
# none; each hall message costs every subscriber a decode and a validation,
# and the call list goes out on every call.
HALL_READS: Final[dict[DeviceKind, tuple[str, ...]]] = {
    DeviceKind.KIOSK: ("#",),  # waits, the matter library, hall notices
    DeviceKind.CALLER: ("window/+",),
    DeviceKind.DISPLAY: ("calls", "window/+", "queue/+"),
    DeviceKind.SIGNLANG: (),
}


class Payload(BaseModel):
    """Base of every payload: frozen, strict about unknown fields, versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    v: Literal[1] = Field(default=SCHEMA_VERSION, description="schema version")


class HubStatus(Payload):
    """Retained. Devices wait for ``online`` before flushing their outbox."""

    online: bool
    ts: datetime = Field(default_factory=utcnow)


class DeviceState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class DeviceStatus(Payload):
    """Retained birth (online) or death (offline, usually the last will).

    ``connection`` counts the device's connections (Sparkplug's bdSeq). A will
    whose counter is older than the last birth is stale and must be ignored.
    """

    state: DeviceState
    kind: DeviceKind
    connection: int = Field(ge=0, description="per-connection counter, persisted on the device")
    boot_id: str = Field(min_length=1, max_length=64)
    version: str = Field(max_length=64)
    ts: datetime = Field(default_factory=utcnow)


class Health(Payload):
    """Heartbeat with health figures; sent every ``heartbeat_s`` seconds."""

    uptime_s: float = Field(ge=0)
    cpu_percent: float = Field(ge=0)
    memory_percent: float = Field(ge=0, le=100)
    temperature_c: float | None = None
    version: str = Field(max_length=64)
    outbox_depth: int = Field(ge=0)
    ports: dict[str, str] = Field(default_factory=dict, description="port name -> state")
    ts: datetime = Field(default_factory=utcnow)


class Event(Payload):
    """A device event. Stored in the device outbox until the hub acknowledges it.

    The hub deduplicates by (device, boot_id, seq): replays change nothing.
    """

    event_id: str = Field(min_length=1, max_length=64)
    boot_id: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=1, description="monotonically increasing per device")
    ts: datetime = Field(description="device time")
    data: dict[str, Any] = Field(default_factory=dict)


class EventAck(Payload):
    boot_id: str
    seq: int = Field(ge=1)


class Command(Payload):
    """A command from the hub. Never retained; results are idempotent by id."""

    command_id: str = Field(min_length=1, max_length=64)
    issued_at: datetime = Field(default_factory=utcnow)
    deadline: datetime = Field(description="not run when received after this time")
    args: dict[str, Any] = Field(default_factory=dict)


# The buttons a caller box may have (``ports.buttons.pins`` keys, the ``button``
# of its ``button`` event): the window verbs and the five 好差评 levels. The
# hub maps each to a verb (`central.queueing.callers`); a pin wired under any
# other name is refused when the settings are read.
CALLER_BUTTONS: Final = frozenset(
    {"next", "recall", "start", "finish", "no_show", "pause", "resume", "transfer"}
    | {f"rate_{level}" for level in range(1, 6)}
)


class CallerFeedback(BaseModel):
    """Arguments of ``cmd/feedback`` to a caller: what became of its button press
    (the caller's LED lights once, long, when accepted and blinks fast when refused)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    button: str = Field(max_length=32, description="the button pressed, e.g. next")
    ok: bool = Field(description="true: the hub did it; false: refused")
    reason: str | None = Field(None, max_length=200, description="why refused (Chinese)")
    ticket: str | None = Field(
        None, max_length=8, description="the ticket number now at the window"
    )
    window: int | None = Field(None, ge=0, description="the window the caller is bound to")


# Commands with typed arguments beyond ``ping`` and ``identify``: (name, device kind, args).
COMMAND_ARGS: tuple[tuple[str, str, type[BaseModel]], ...] = (
    ("feedback", "caller", CallerFeedback),
)


class ResultStatus(StrEnum):
    RECEIVED = "received"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"


class CommandResult(Payload):
    command_id: str = Field(min_length=1, max_length=64)
    name: str
    status: ResultStatus
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    ts: datetime = Field(default_factory=utcnow)


class DeviceConfig(Payload):
    """Retained, versioned configuration document for one device."""

    config_version: int = Field(ge=0)
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)
    ts: datetime = Field(default_factory=utcnow)


class HallState(Payload):
    """Retained free-form hall state under a name other than the typed ones
    (``calls``, ``window`` and ``queue`` carry the typed hall payloads)."""

    name: str
    data: dict[str, Any] = Field(default_factory=dict)
    ts: datetime = Field(default_factory=utcnow)


ServiceCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]


class BoardCall(BaseModel):
    """One call on the hall board. Carries no personal data, only the number."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket: str = Field(max_length=8, description="ticket number, e.g. A012")
    window: int = Field(ge=0, description="window number")
    window_name: str = Field(max_length=64, description="window name, e.g. 5号窗口")
    service: str = Field(max_length=64, description="service name")
    called_at: datetime = Field(description="time of the latest call or recall")
    recall: bool = Field(description="true when this is a repeated call (重呼)")
    area: str | None = Field(None, max_length=32, description="code of the window's service area")
    voice: bool = Field(
        True, description="false when the window's area calls silently (无声叫号): no announcement"
    )


class HallCalls(Payload):
    """Retained. The latest calls of the day, newest first; a recalled ticket
    appears once, at the time of its latest call."""

    calls: tuple[BoardCall, ...] = Field(
        max_length=50,
        description=(
            "newest first; each: ticket, window, window_name, service, called_at, recall,"
            " area, voice"
        ),
    )
    ts: datetime = Field(default_factory=utcnow)


class WindowPhase(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class HallWindow(Payload):
    """Retained, one per window: its status and the ticket at it now."""

    window: int = Field(ge=0, description="window number")
    name: str = Field(max_length=64)
    status: WindowPhase
    ticket: str | None = Field(None, max_length=8, description="current ticket number")
    ticket_state: Literal["called", "serving"] | None = None
    service: str | None = Field(None, max_length=64, description="service of the current ticket")
    called_at: datetime | None = None
    ts: datetime = Field(default_factory=utcnow)


class HallQueue(Payload):
    """Retained, one per service: how many wait and the estimated wait."""

    service: ServiceCode = Field(description="service code")
    name: str = Field(max_length=64)
    prefix: str = Field(max_length=1)
    waiting: int = Field(ge=0, description="tickets waiting to be called")
    open_windows: int = Field(ge=0, description="open windows serving this service")
    estimated_wait_min: int | None = Field(
        None, ge=0, description="minutes for a ticket taken now; null when no window serves it"
    )
    ts: datetime = Field(default_factory=utcnow)


class HallMatters(Payload):
    """Retained. The manifest of the published matter library (事项库).

    The library itself can be about a megabyte, beyond what a message may
    carry; a device compares ``sha256`` with its copy and, when they differ,
    fetches the JSON (a `Library` document) from ``url`` on the hub's HTTP
    server, which answers with the same hash as its ETag."""

    revision: int = Field(ge=1, description="grows with every publication")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hash of the library JSON")
    size: int = Field(ge=0, description="bytes of the library JSON")
    matters: int = Field(ge=0, description="number of published matters")
    demo: bool = Field(description="true for made-up demonstration content")
    url: str = Field(max_length=200, description="path of the library JSON on the hub")
    published_at: datetime | None = None
    ts: datetime = Field(default_factory=utcnow)


APPOINTMENT_CODE_RE: Final = r"^[2-9A-HJ-NP-Z]{10}$"


class TicketRequest(Payload):
    """A kiosk asks for a ticket (one tap), or checks in an appointment (a scan:
    ``appointment_code`` instead of ``service``). Never retained, never replayed."""

    request_id: str = Field(min_length=8, max_length=64, description="fresh per tap")
    service: ServiceCode | None = Field(
        None, description="service code; none with an appointment_code"
    )
    appointment_code: str | None = Field(
        None,
        pattern=APPOINTMENT_CODE_RE,
        description="预约码 read from the booking's QR code: check in instead of a new ticket",
    )
    priority: Literal["normal", "green"] = Field("normal", description="green: 绿色通道")
    priority_reason: str | None = Field(
        None, max_length=32, description="reason code, required for green (e.g. elderly)"
    )
    citizen_id: str | None = Field(
        None,
        max_length=32,
        description="身份证号 or mobile number for the one-ticket rule; hashed by the hub",
    )
    matter: str | None = Field(None, max_length=64, description="matter key from the guidance")
    ts: datetime = Field(default_factory=utcnow, description="device time of the tap")

    @model_validator(mode="after")
    def _service_or_appointment(self) -> TicketRequest:
        if (self.service is None) == (self.appointment_code is None):
            raise ValueError("exactly one of service and appointment_code")
        return self


class TicketReply(Payload):
    """The hub's answer to one `TicketRequest`: a ticket, or a refusal."""

    request_id: str = Field(min_length=8, max_length=64)
    ok: bool
    reason: str = Field("", max_length=200, description="refusal in Chinese, shown as is")
    number: str | None = Field(None, max_length=8, description="ticket number, e.g. A012")
    service: ServiceCode | None = None
    service_name: str | None = Field(None, max_length=64)
    priority: str = Field("normal", max_length=16)
    ahead: int | None = Field(None, ge=0, description="people ahead now")
    minutes: int | None = Field(None, ge=0, description="estimated wait; null when unknown")
    issued_at: datetime | None = None
    citizen_url: str | None = Field(None, max_length=300, description="the QR page (办事一码通)")
    hub_time: datetime = Field(default_factory=utcnow, description="the hub's clock")


class KioskService(BaseModel):
    """A service as a kiosk needs it to issue offline."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: ServiceCode
    name: str = Field(max_length=64)
    prefix: str = Field(min_length=1, max_length=1)
    width: int = Field(ge=1, le=6, description="digits of the number (A001: 3)")
    opens_at: str = Field(pattern=r"^\d{2}:\d{2}$", description="local HH:MM")
    closes_at: str = Field(pattern=r"^\d{2}:\d{2}$", description="local HH:MM")
    area: str | None = Field(None, max_length=32, description="service area code (kiosk tiles)")
    area_name: str | None = Field(None, max_length=64, description="service area name")
    avg_handling_s: int | None = Field(
        None, ge=0, description="average handling time, for the offline closing-time rule"
    )


class NumberBlock(BaseModel):
    """Numbers ``first``..``last`` of a service on one operating day, reserved
    for one kiosk: the hub never issues them itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    service: ServiceCode
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="operating day")
    first: int = Field(ge=1)
    last: int = Field(ge=1)


class KioskBlocks(Payload):
    """Retained, per kiosk: what it needs to keep issuing without the hub.

    The whole current picture, not a delta: the services with their hours,
    the blocks of today and the next day that still have unused numbers (as
    far as the hub knows), the hub's clock and where citizen pages live. The
    kiosk keeps every block it has seen in its journal; blocks only grow."""

    services: tuple[KioskService, ...] = Field(max_length=100)
    blocks: tuple[NumberBlock, ...] = Field(max_length=400)
    timezone: str = Field(max_length=64, description="the hall's time zone")
    day_rollover: str = Field(pattern=r"^\d{2}:\d{2}$", description="local HH:MM")
    citizen_base_url: str = Field(max_length=200, description="prefix of /t/{token}")
    hub_time: datetime = Field(default_factory=utcnow, description="the hub's clock")
    ts: datetime = Field(default_factory=utcnow)


# --- topics -----------------------------------------------------------------


class Channel(StrEnum):
    HUB_STATUS = "hub/status"
    STATUS = "status"
    HEALTH = "health"
    EVENT = "evt"
    ACK = "ack"
    COMMAND = "cmd"
    RESULT = "result"
    CONFIG = "config"
    HALL = "hall"
    HALL_CALLS = "hall/calls"
    HALL_WINDOW = "hall/window"
    HALL_QUEUE = "hall/queue"
    HALL_MATTERS = "hall/matters"
    TICKET_REQUEST = "ticket_req"
    TICKET_REPLY = "ticket_reply"
    BLOCKS = "blocks"


@dataclass(frozen=True)
class Route:
    """What a channel carries, who writes it and how it is published."""

    channel: Channel
    model: type[Payload]
    writer: Literal["hub", "device", "device or broker will"]
    qos: int
    retained: bool
    pattern: str
    summary: str


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        Channel.HUB_STATUS,
        HubStatus,
        "hub",
        1,
        True,
        "hub/status",
        "hub availability; devices wait for online before flushing",
    ),
    Route(
        Channel.STATUS,
        DeviceStatus,
        "device or broker will",
        1,
        True,
        "dev/{id}/status",
        "birth and last will with a per-connection counter",
    ),
    Route(
        Channel.HEALTH,
        Health,
        "device",
        0,
        False,
        "dev/{id}/health",
        "heartbeat with health figures",
    ),
    Route(
        Channel.EVENT,
        Event,
        "device",
        1,
        False,
        "dev/{id}/evt/{name}",
        "device events from the durable outbox",
    ),
    Route(
        Channel.ACK,
        EventAck,
        "hub",
        1,
        False,
        "dev/{id}/ack",
        "hub acknowledges an event; the device drops it from its outbox",
    ),
    Route(
        Channel.COMMAND,
        Command,
        "hub",
        1,
        False,
        "dev/{id}/cmd/{name}",
        "command with id and deadline; never retained",
    ),
    Route(
        Channel.RESULT,
        CommandResult,
        "device",
        1,
        False,
        "dev/{id}/result",
        "command result: received, succeeded, failed, rejected, expired",
    ),
    Route(
        Channel.CONFIG,
        DeviceConfig,
        "hub",
        1,
        True,
        "dev/{id}/config",
        "versioned configuration document",
    ),
    Route(
        Channel.HALL_CALLS,
        HallCalls,
        "hub",
        1,
        True,
        "hall/calls",
        "the latest calls for the hall board, newest first",
    ),
    Route(
        Channel.HALL_WINDOW,
        HallWindow,
        "hub",
        1,
        True,
        "hall/window/{n}",
        "one window: open/paused/closed and its current ticket",
    ),
    Route(
        Channel.HALL_QUEUE,
        HallQueue,
        "hub",
        1,
        True,
        "hall/queue/{service}",
        "one service: waiting count and estimated wait in minutes",
    ),
    Route(
        Channel.HALL_MATTERS,
        HallMatters,
        "hub",
        1,
        True,
        "hall/matters",
        "manifest of the published matter library; devices fetch the JSON from its url",
    ),
    Route(
        Channel.TICKET_REQUEST,
        TicketRequest,
        "device",
        0,
        False,
        "dev/{id}/ticket_req",
        "a kiosk asks for a ticket (request id; never through the outbox, never replayed)",
    ),
    Route(
        Channel.TICKET_REPLY,
        TicketReply,
        "hub",
        0,
        False,
        "dev/{id}/ticket_reply",
        "the ticket issued for a request id, or the refusal in Chinese",
    ),
    Route(
        Channel.BLOCKS,
        KioskBlocks,
        "hub",
        1,
        True,
        "dev/{id}/blocks",
        "number blocks reserved for a kiosk's offline issuing, services and hours",
    ),
    Route(Channel.HALL, HallState, "hub", 1, True, "hall/{name}", "hall state rendered by boards"),
)
_RESERVED_HALL_NAMES: Final = frozenset({"calls", "window", "queue", "matters"})
ROUTE_BY_CHANNEL: Final = {r.channel: r for r in ROUTES}


@dataclass(frozen=True)
class Topics:
    """Builds and parses every topic of one hall."""

    hall: str

    def __post_init__(self) -> None:
        if not re.fullmatch(_ID_RE, self.hall):
            raise ValueError(f"invalid hall id {self.hall!r}")

    @property
    def root(self) -> str:
        return f"{TOPIC_PREFIX}/{self.hall}"

    def hub_status(self) -> str:
        return f"{self.root}/hub/status"

    def device(self, device_id: str, channel: Channel, name: str = "") -> str:
        base = f"{self.root}/dev/{device_id}/{channel.value}"
        if channel in (Channel.EVENT, Channel.COMMAND):
            if not name:
                raise ValueError(f"{channel.value} topics need a name")
            return f"{base}/{name}"
        return base

    def status(self, device_id: str) -> str:
        return self.device(device_id, Channel.STATUS)

    def health(self, device_id: str) -> str:
        return self.device(device_id, Channel.HEALTH)

    def event(self, device_id: str, name: str) -> str:
        return self.device(device_id, Channel.EVENT, name)

    def ack(self, device_id: str) -> str:
        return self.device(device_id, Channel.ACK)

    def command(self, device_id: str, name: str) -> str:
        return self.device(device_id, Channel.COMMAND, name)

    def result(self, device_id: str) -> str:
        return self.device(device_id, Channel.RESULT)

    def config(self, device_id: str) -> str:
        return self.device(device_id, Channel.CONFIG)

    def hall_state(self, name: str) -> str:
        if name in _RESERVED_HALL_NAMES:
            raise ValueError(f"hall/{name} carries a typed payload; use its own builder")
        return f"{self.root}/hall/{name}"

    def hall_calls(self) -> str:
        return f"{self.root}/hall/calls"

    def hall_window(self, number: int) -> str:
        if number < 0:
            raise ValueError(f"invalid window number {number}")
        return f"{self.root}/hall/window/{number}"

    def hall_matters(self) -> str:
        return f"{self.root}/hall/matters"

    def ticket_request(self, device_id: str) -> str:
        return self.device(device_id, Channel.TICKET_REQUEST)

    def ticket_reply(self, device_id: str) -> str:
        return self.device(device_id, Channel.TICKET_REPLY)

    def blocks(self, device_id: str) -> str:
        return self.device(device_id, Channel.BLOCKS)

    def hall_queue(self, service_code: str) -> str:
        if not re.fullmatch(_SERVICE_RE, service_code):
            raise ValueError(f"service code {service_code!r} cannot be a topic level")
        return f"{self.root}/hall/queue/{service_code}"

    # Subscriptions -----------------------------------------------------------

    def hub_subscriptions(self) -> list[tuple[str, int]]:
        """What the hub listens to: everything devices write."""
        dev = f"{self.root}/dev/+"
        return [
            (f"{dev}/status", 1),
            (f"{dev}/health", 0),
            (f"{dev}/evt/+", 1),
            (f"{dev}/result", 1),
            (f"{dev}/ticket_req", 0),
        ]

    def device_subscriptions(
        self, device_id: str, kind: DeviceKind | None = None
    ) -> list[tuple[str, int]]:
        """What a device listens to: its commands, acks, config, own status, the
        hub, and the hall topics its kind reads (`HALL_READS`; every hall topic
        when the kind is not given)."""
        hall = HALL_READS.get(kind, ("#",)) if kind is not None else ("#",)
        return [
            (f"{self.root}/dev/{device_id}/cmd/+", 1),
            (self.ack(device_id), 1),
            (self.config(device_id), 1),
            (self.status(device_id), 1),
            (self.hub_status(), 1),
            *((f"{self.root}/hall/{suffix}", 1) for suffix in hall),
            (self.ticket_reply(device_id), 0),
            (self.blocks(device_id), 1),
        ]

    # Parsing -----------------------------------------------------------------

    def parse(self, topic: str) -> ParsedTopic | None:
        """Split a topic of this hall into its parts, or None if it is not ours."""
        prefix = self.root + "/"
        if not topic.startswith(prefix):
            return None
        parts = topic[len(prefix) :].split("/")
        if parts == ["hub", "status"]:
            return ParsedTopic(Channel.HUB_STATUS, None, "")
        if parts[0] == "hall":
            return _parse_hall(parts[1:])
        if len(parts) < 3 or parts[0] != "dev" or not re.fullmatch(_ID_RE, parts[1]):
            return None
        device_id, rest = parts[1], parts[2:]
        try:
            channel = Channel(rest[0])
        except ValueError:
            return None
        if channel in (Channel.EVENT, Channel.COMMAND):
            if len(rest) != 2 or not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", rest[1]):
                return None
            return ParsedTopic(channel, device_id, rest[1])
        if len(rest) != 1 or channel in (Channel.HUB_STATUS, Channel.HALL):
            return None
        return ParsedTopic(channel, device_id, "")


@dataclass(frozen=True)
class ParsedTopic:
    channel: Channel
    device_id: str | None
    name: str


_SERVICE_RE: Final = r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"


def _parse_hall(rest: list[str]) -> ParsedTopic | None:
    """``hall/calls``, ``hall/matters``, ``hall/window/{n}``, ``hall/queue/{service}``,
    ``hall/{name}``.

    The name of a window or queue topic is its window number or service code."""
    if rest == ["calls"]:
        return ParsedTopic(Channel.HALL_CALLS, None, "")
    if rest == ["matters"]:
        return ParsedTopic(Channel.HALL_MATTERS, None, "")
    if len(rest) == 2 and rest[0] == "window" and re.fullmatch(r"[0-9]{1,6}", rest[1]):
        return ParsedTopic(Channel.HALL_WINDOW, None, rest[1])
    if len(rest) == 2 and rest[0] == "queue" and re.fullmatch(_SERVICE_RE, rest[1]):
        return ParsedTopic(Channel.HALL_QUEUE, None, rest[1])
    if len(rest) == 1 and rest[0] not in _RESERVED_HALL_NAMES and re.fullmatch(_ID_RE, rest[0]):
        return ParsedTopic(Channel.HALL, None, rest[0])
    return None


# --- decoding ---------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A validated inbound message."""

    topic: str
    parsed: ParsedTopic
    payload: Payload
    retained: bool = False


class Rejected(Exception):
    """An inbound payload that does not follow the contract."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"{topic}: {reason}")
        self.topic = topic
        self.reason = reason


def encode(payload: Payload) -> bytes:
    return payload.model_dump_json().encode()


def decode(topics: Topics, topic: str, raw: bytes, *, retained: bool = False) -> Message:
    """Validate an inbound message against the contract or raise `Rejected`."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise Rejected(topic, f"payload too large: {len(raw)} > {MAX_PAYLOAD_BYTES} bytes")
    parsed = topics.parse(topic)
    if parsed is None:
        raise Rejected(topic, "unknown topic")
    model = ROUTE_BY_CHANNEL[parsed.channel].model
    try:
        payload = model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        if first["loc"] == ("v",):
            reason = f"unsupported schema version (expected {SCHEMA_VERSION})"
        else:
            reason = f"invalid {model.__name__}: {where}: {first['msg']}"
        raise Rejected(topic, reason) from None
    return Message(topic=topic, parsed=parsed, payload=payload, retained=retained)


# --- access control ---------------------------------------------------------


@dataclass(frozen=True)
class AclRule:
    access: Literal["read", "write", "readwrite"]
    topic: str


HUB_USER: Final = "hub"


def acl_rules(topics: Topics, user: str) -> list[AclRule]:
    """The ACL of one MQTT user: the hub, or a device (its user is its id).

    A device writes only its own status, health, events, results and ticket
    requests and reads only what is addressed to it; only the hub writes
    ``cmd``, ``ack``, ``config``, ``ticket_reply`` and ``blocks``. The same
    rules feed the Mosquitto ACL file and the embedded broker's topic plugin.
    """
    if user == HUB_USER:
        return [AclRule("readwrite", f"{topics.root}/#")]
    own = f"{topics.root}/dev/{user}"
    return [
        AclRule("readwrite", f"{own}/status"),  # reads it back to repair stale wills
        AclRule("write", f"{own}/health"),
        AclRule("write", f"{own}/evt/+"),
        AclRule("write", f"{own}/result"),
        AclRule("read", f"{own}/cmd/+"),
        AclRule("read", f"{own}/ack"),
        AclRule("read", f"{own}/config"),
        # Kiosk tickets: a device asks only for itself and hears only its answers.
        AclRule("write", f"{own}/ticket_req"),
        AclRule("read", f"{own}/ticket_reply"),
        AclRule("read", f"{own}/blocks"),
        AclRule("read", topics.hub_status()),
        AclRule("read", f"{topics.root}/hall/#"),
    ]


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching (``+`` one level, ``#`` the rest)."""
    f_parts, t_parts = topic_filter.split("/"), topic.split("/")
    for i, f in enumerate(f_parts):
        if f == "#":
            return True
        if i >= len(t_parts) or (f != "+" and f != t_parts[i]):
            return False
    return len(f_parts) == len(t_parts)


def acl_allows(topics: Topics, user: str, topic: str, action: Literal["read", "write"]) -> bool:
    """True when `user` may `action` on `topic` (for a subscribe, `topic` is the filter)."""
    for rule in acl_rules(topics, user):
        if action not in rule.access:
            continue
        if action == "read" and ("+" in topic or "#" in topic):
            # A subscription filter must not be wider than a rule.
            if topic == rule.topic or _filter_within(topic, rule.topic):
                return True
        elif topic_matches(rule.topic, topic):
            return True
    return False


def _filter_within(inner: str, outer: str) -> bool:
    i_parts, o_parts = inner.split("/"), outer.split("/")
    for n, o in enumerate(o_parts):
        if o == "#":
            return True
        if n >= len(i_parts):
            return False
        i = i_parts[n]
        if i == "#" or (o != "+" and (i == "+" or i != o)):
            return False
    return len(i_parts) == len(o_parts)
