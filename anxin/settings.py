"""Settings for every role, from ``ANXIN_*`` environment variables and a TOML file.

Loaded once by the CLI (`load_settings`) and passed down; nothing here runs at
import time. Nested values use ``__`` in the environment, e.g.
``ANXIN_MQTT__PORT=1884``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from broker.contract import CALLER_BUTTONS, DeviceKind
from broker.session import BrokerAddress
from display.ledboard.settings import LedBoardSettings
from display.voice.settings import VoiceSettings
from printer.settings import PrinterSettings

_DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - refused outside development


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttSettings(Section):
    host: str = Field("127.0.0.1", description="broker host")
    port: int = Field(1883, ge=1, le=65535, description="broker port")
    username: str | None = Field(None, description="MQTT user (a device's user is its id)")
    password: SecretStr | None = Field(None, description="MQTT password")
    ca_file: Path | None = Field(None, description="hall CA certificate for TLS")
    cert_file: Path | None = Field(None, description="client certificate (TLS)")
    key_file: Path | None = Field(None, description="client key (TLS)")
    keepalive_s: int = Field(10, ge=1, le=600, description="MQTT keepalive; offline after 1.5x")

    def address(self) -> BrokerAddress:
        return BrokerAddress(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            ca_file=str(self.ca_file) if self.ca_file else None,
            cert_file=str(self.cert_file) if self.cert_file else None,
            key_file=str(self.key_file) if self.key_file else None,
            keepalive_s=self.keepalive_s,
        )


class HubSettings(Section):
    host: str = Field("127.0.0.1", description="HTTP bind address")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port (0: choose a free one)")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite under data_dir"
    )
    secret_key: SecretStr = Field(
        SecretStr(_DEV_SECRET), description="signs session cookies and device passwords"
    )
    command_timeout_s: float = Field(5.0, gt=0, description="default command deadline")
    public_url: str | None = Field(None, description="URL printed for people to open")
    display_timezone: str = Field(
        "Asia/Shanghai", description="time zone of times shown on the admin pages"
    )
    session_max_age_s: int = Field(
        8 * 3600, ge=60, description="sign-in lifetime of the session cookie (one shift)"
    )
    cookie_secure: bool = Field(
        False, description="send the session cookie over HTTPS only (set behind TLS)"
    )
    clock_start: dt.datetime | None = Field(
        None,
        description="start the hub's clock at this moment, then let it run (tests, training); "
        "never set in a real hall",
    )


class QueueSettings(Section):
    """Rules of the queue engine (`central.queueing`)."""

    max_recalls: int = Field(3, ge=0, le=20, description="recalls of a ticket before no-show")
    recall_delay_s: float = Field(15.0, ge=0, description="least time between two calls")
    appointment_window_s: int = Field(
        900, ge=0, description="an appointment ranks as one within this long of its booked time"
    )
    identity_key: SecretStr | None = Field(
        None, description="key of citizen id hashes; derived from hub.secret_key when unset"
    )
    timezone: str = Field("Asia/Shanghai", description="the hall's time zone (operating day)")
    public_issuing: bool = Field(
        True, description="citizens may take a ticket on their phone (/api/v1/public/tickets)"
    )
    public_per_address_per_hour: int = Field(
        120, ge=1, description="public tickets per client address per hour (a hall's Wi-Fi is one)"
    )
    day_rollover: dt.time = Field(
        dt.time(3, 0), description="local time at which the operating day changes"
    )


class KioskSettings(Section):
    """Kiosk ticketing (`central.queueing.kiosks` on the hub, `edge.kinds.kiosk`
    on the kiosk): the reserved offline blocks and the online timeout."""

    offline_block: int = Field(
        20, ge=1, le=500, description="unused reserved numbers each kiosk keeps per service and day"
    )
    days_ahead: int = Field(1, ge=0, le=7, description="also reserve for this many next days")
    replenish_s: float = Field(30.0, gt=0, description="hub checks every kiosk's blocks this often")
    request_timeout_s: float = Field(
        1.5, gt=0, le=30, description="kiosk waits this long for the hub, then issues offline"
    )
    retry_online_s: float = Field(
        10.0, gt=0, description="after a timeout, go straight to the block for this long"
    )
    control_socket: bool = Field(
        False, description="serve the local control socket (always on with --sim)"
    )
    hub_url: str | None = Field(
        None,
        description="kiosk UI: hub base URL for the matter library (default: the citizen "
        "base URL the hub sends in the kiosk's blocks)",
    )


class AppointmentSettings(Section):
    """Appointments (预约, `central.appointments`): slots, limits, the check-in window."""

    enabled: bool = Field(True, description="citizens may book on the phone (/book)")
    slot_minutes: int = Field(30, ge=5, le=240, description="length of a booking slot")
    capacity: int = Field(4, ge=0, le=500, description="bookings per service per slot")
    service_capacity: dict[str, int] = Field(
        default_factory=dict, description="service code -> bookings per slot (0: not bookable)"
    )
    days_ahead: int = Field(7, ge=0, le=60, description="book at most this many days ahead")
    weekdays: list[int] = Field(
        [0, 1, 2, 3, 4], description="bookable weekdays (0 = Monday) within the services' hours"
    )
    closed_dates: list[dt.date] = Field(
        default_factory=list, description="holidays: no booking on these days"
    )
    checkin_early_min: int = Field(60, ge=0, description="check-in opens this long before the slot")
    checkin_late_min: int = Field(30, ge=0, description="check-in closes this long after the slot")
    per_address_per_hour: int = Field(
        60, ge=1, description="bookings per client address per hour (a hall's Wi-Fi is one)"
    )


class InterpretingSettings(Section):
    """The sign-language interpreter service (`central.interpreting`): one hub
    process owns its live state (see docs/interpreting.md on workers)."""

    enabled: bool = Field(
        True, description="serve the interpreter signalling and ACD in this hub process"
    )
    offer_timeout_s: float = Field(
        20.0, gt=0, le=300, description="an offer not accepted this long goes to the next one"
    )
    reconnect_grace_s: float = Field(
        60.0, ge=0, description="a call survives an interpreter's lost console this long"
    )
    default_aht_s: float = Field(
        600.0, gt=0, description="handling time assumed for waits until calls have been served"
    )
    priority_terminals: list[str] = Field(
        default_factory=list,
        description="explicit priority policy: requests of these terminals queue first "
        "(arrival order within each class); empty = pure arrival order",
    )
    ice_servers: list[str] = Field(
        default_factory=list, description="STUN/TURN URLs for the console (stun:host:3478)"
    )
    turn_username: str | None = Field(None, description="TURN user of the console")
    turn_password: SecretStr | None = Field(None, description="TURN password of the console")


class SignlangSettings(Section):
    """The sign-language terminal (`signlang_terminal`, `edge.kinds.signlang`).
    The signalling token comes from the hub in the device's retained config."""

    hub_url: str | None = Field(
        None, description="hub base URL for signalling (default: http://{mqtt.host}:8000)"
    )
    ice_servers: list[str] = Field(
        default_factory=list,
        description="STUN/TURN URLs beside the LAN host candidates (coturn: turn:host:3478)",
    )
    turn_username: str | None = Field(None, description="TURN user of the terminal")
    turn_password: SecretStr | None = Field(None, description="TURN password of the terminal")
    fps: int = Field(25, ge=20, le=30, description="video frame rate, kept at every resolution")
    microphone: str | None = Field(
        None, description="ALSA capture device of the clerk's voice (default); unset: listen only"
    )
    speaker: str | None = Field(
        None,
        description="ALSA output device (aplay -D) for the interpreter's voice; unset: not played",
    )
    ask_recording_consent: bool = Field(
        False,
        description="ask the citizen on screen whether the call may be recorded "
        "(off: never recorded)",
    )
    recordings_dir: Path | None = Field(
        None,
        description="where consented calls are recorded "
        "(default: {data_dir}/devices/{id}/recordings)",
    )
    recordings_keep_days: int = Field(
        30, ge=1, le=3650, description="recordings older than this are deleted (start, each call)"
    )


class NotifySettings(Section):
    """Citizen notifications (SMS) from the queue (`central.queueing.notify`)."""

    gateway: Literal["none", "file", "http"] = Field(
        "file", description="none, file (data_dir/sms-outbox.jsonl) or http"
    )
    http_url: str | None = Field(None, description="URL the http gateway POSTs to")
    http_token: SecretStr | None = Field(None, description="bearer token of the http gateway")
    contact_key: SecretStr | None = Field(
        None, description="Fernet key for stored phone numbers; derived from hub.secret_key"
    )
    signature: str = Field("安心政务大厅", description="SMS signature shown in 【】")
    max_attempts: int = Field(5, ge=1, le=50, description="sends before a message is failed")
    retry_base_s: float = Field(5.0, gt=0, description="first retry delay; doubles each time")
    max_age_s: float = Field(1800, gt=0, description="a message older than this is not sent")


class BrokerSettings(Section):
    """The embedded broker (`anxin broker`)."""

    host: str = Field("127.0.0.1", description="bind address")
    port: int = Field(1883, ge=0, le=65535, description="listen port (0: choose a free one)")


# --- device hardware ports: a discriminated union on `kind` per port ----------


class SimPort(Section):
    kind: Literal["sim"] = "sim"


class GpioButtonsPort(Section):
    kind: Literal["gpio"] = "gpio"
    pins: dict[str, int] = Field(
        default_factory=dict,
        description="button name -> BCM pin (next, recall, start, finish, transfer, pause, "
        "resume, no_show, rate_5 … rate_1)",
    )
    bounce_s: float = Field(0.05, ge=0, description="debounce time")
    repeat_guard_s: float = Field(
        0.6, ge=0, description="a second press of the same button sooner than this is ignored"
    )

    @model_validator(mode="after")
    def _known_buttons(self) -> GpioButtonsPort:
        unknown = sorted(set(self.pins) - CALLER_BUTTONS)
        if unknown:  # a typo would be a button the hub answers with 未知按键
            known = ", ".join(sorted(CALLER_BUTTONS))
            raise ValueError(f"unknown button(s) {', '.join(unknown)}; a caller has: {known}")
        if len(set(self.pins.values())) != len(self.pins):
            raise ValueError("two buttons wired to the same pin")
        return self


class GpioLedPort(Section):
    kind: Literal["gpio"] = "gpio"
    pin: int = Field(description="BCM pin of the status LED")


class CameraScannerPort(Section):
    """A camera read with OpenCV's QR detector (`edge.ports.scanner.CameraScanner`)."""

    kind: Literal["camera"] = "camera"
    device: int | str = Field(0, description="V4L2 index (0) or a path / URL OpenCV opens")
    width: int = Field(1280, ge=160, description="requested frame width")
    height: int = Field(720, ge=120, description="requested frame height")
    repeat_s: float = Field(3.0, ge=0, description="the same code again only after this long")


class SerialScannerPort(Section):
    """A serial or USB-serial barcode scanner sending each code and CR/LF."""

    kind: Literal["serial"] = "serial"
    url: str = Field(description="pyserial URL: /dev/ttyACM0, socket://host:port, loop://")
    baudrate: int = Field(9600, ge=300, description="line speed")
    repeat_s: float = Field(1.0, ge=0, description="the same code again only after this long")


class SamIdCardPort(Section):
    """A 居民身份证 reader speaking the SAM_V serial protocol (`edge.ports.idcard`)."""

    kind: Literal["sam"] = "sam"
    url: str = Field(description="pyserial URL: /dev/ttyUSB0, socket://host:port, loop://")
    baudrate: int = Field(115200, ge=300, description="line speed (SAM_V default 115200)")
    poll_s: float = Field(0.5, gt=0, description="find-card interval")


class OpenCvCameraPort(Section):
    """A camera read with OpenCV (`edge.ports.camera.OpenCvCamera`), newest frame only."""

    kind: Literal["opencv"] = "opencv"
    device: int | str = Field(0, description="V4L2 index (0) or a path / URL OpenCV opens")
    width: int = Field(640, ge=160, description="requested frame width")
    height: int = Field(480, ge=120, description="requested frame height")
    fps: int = Field(25, ge=5, le=60, description="requested camera frame rate")


class Tm1637Port(Section):
    """A 4-digit 7-segment TM1637 module on two GPIO lines (`edge.ports.segments`)."""

    kind: Literal["tm1637"] = "tm1637"
    clk: int = Field(ge=0, le=27, description="BCM pin wired to the module's CLK")
    dio: int = Field(ge=0, le=27, description="BCM pin wired to the module's DIO")
    brightness: int = Field(4, ge=0, le=7, description="0 (dimmest) to 7")

    @model_validator(mode="after")
    def _two_pins(self) -> Tm1637Port:
        if self.clk == self.dio:
            raise ValueError("CLK and DIO need two different pins")
        return self


ButtonsPort = Annotated[SimPort | GpioButtonsPort, Field(discriminator="kind")]
ScannerPort = Annotated[
    SimPort | CameraScannerPort | SerialScannerPort, Field(discriminator="kind")
]
LedPort = Annotated[SimPort | GpioLedPort, Field(discriminator="kind")]
IdCardPort = Annotated[SimPort | SamIdCardPort, Field(discriminator="kind")]
DigitsPort = Annotated[SimPort | Tm1637Port, Field(discriminator="kind")]


class PortsSettings(Section):
    """Which adapter drives each port. Printer, serial board, camera, screen and
    speaker have only the simulated adapter so far; real ones join the union later."""

    buttons: ButtonsPort = Field(default_factory=SimPort, description="call buttons")
    led: LedPort = Field(default_factory=SimPort, description="status / window LED")
    printer: Annotated[SimPort | PrinterSettings, Field(discriminator="kind")] = Field(
        default_factory=SimPort, description='ticket printer (ESC/POS: kind = "escpos")'
    )
    serial_board: Annotated[SimPort | LedBoardSettings, Field(discriminator="kind")] = Field(
        default_factory=SimPort, description='serial LED board (kind = "serial")'
    )
    camera: Annotated[SimPort | OpenCvCameraPort, Field(discriminator="kind")] = Field(
        default_factory=SimPort, description='sign-language terminal camera (kind = "opencv")'
    )
    screen: SimPort = Field(default_factory=SimPort, description="screen")
    speaker: Annotated[SimPort | VoiceSettings, Field(discriminator="kind")] = Field(
        default_factory=SimPort, description='voice calling (kind = "voice")'
    )
    scanner: ScannerPort = Field(
        default_factory=SimPort, description="kiosk QR / barcode scanner (camera or serial)"
    )
    idcard: IdCardPort = Field(
        default_factory=SimPort, description='kiosk 居民身份证 reader (kind = "sam")'
    )
    digits: DigitsPort = Field(
        default_factory=SimPort,
        description='caller ticket display, 4-digit 7-segment (kind = "tm1637")',
    )


class DeviceSettings(Section):
    id: str | None = Field(None, description="device id, e.g. kiosk-01")
    kind: DeviceKind | None = Field(None, description="device kind")
    sim: bool = Field(False, description="simulated hardware on every port")
    heartbeat_s: float = Field(5.0, gt=0, description="health report interval")
    resend_s: float = Field(
        5.0, gt=0, description="resend events the hub has not acknowledged after this long"
    )
    ports: PortsSettings = Field(default_factory=PortsSettings)


class Settings(BaseSettings):
    """Everything a process of Anxin Hall can be told."""

    model_config = SettingsConfigDict(
        env_prefix="ANXIN_", env_nested_delimiter="__", extra="forbid"
    )

    environment: Literal["development", "production"] = Field(
        "development", description="production refuses development defaults"
    )
    hall: str = Field("demo", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="hall id")
    hall_name: str = Field("安心政务服务大厅", description="hall name shown to citizens")
    data_dir: Path = Field(Path("var"), description="databases, journals, certificates")
    log_format: Literal["text", "json"] = Field("text", description="log line format")
    log_level: str = Field("INFO")
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    hub: HubSettings = Field(default_factory=HubSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    kiosk: KioskSettings = Field(default_factory=KioskSettings)
    appointments: AppointmentSettings = Field(default_factory=AppointmentSettings)
    interpreting: InterpretingSettings = Field(default_factory=InterpretingSettings)
    signlang: SignlangSettings = Field(default_factory=SignlangSettings)
    device: DeviceSettings = Field(default_factory=DeviceSettings)

    @model_validator(mode="after")
    def _no_dev_defaults_in_production(self) -> Settings:
        if self.environment == "production":
            if self.hub.secret_key.get_secret_value() == _DEV_SECRET:
                raise ValueError("hub.secret_key must be set in production")
            if self.mqtt.password is None:
                raise ValueError("mqtt.password must be set in production")
        return self

    @property
    def database_url(self) -> str:
        return self.hub.database_url or f"sqlite:///{self.data_dir / 'hub.sqlite3'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(toml_file: Path | None = None, **overrides: Any) -> Settings:
    """Explicit overrides beat the environment, which beats the TOML file."""
    if toml_file is None:
        return Settings(**overrides)
    if not toml_file.is_file():
        raise FileNotFoundError(f"settings file not found: {toml_file}")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=toml_file)

    return FileSettings(**overrides)
