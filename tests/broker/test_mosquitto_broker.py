"""A real Mosquitto started from the generated production configuration.

Refusals are checked without sleeping: after the forbidden message the same
client sends an allowed one (a "sentinel"). MQTT keeps one client's QoS 1
messages in order, so once the sentinel arrives, the forbidden message would
have arrived before it if the broker had let it through.
"""

from __future__ import annotations

import queue
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from anxin.ports import free_port, wait_for_port
from broker.contract import HUB_USER, MAX_PAYLOAD_BYTES, Event, Topics, encode
from broker.credentials import mqtt_password
from broker.mosquitto import generate_ca, write_config

SECRET = "test-hall-secret"
HALL = "test"
DEVICES = ["kiosk-01", "kiosk-02"]
TOPICS = Topics(HALL)
TIMEOUT_S = 5.0


@dataclass
class Mosquitto:
    out_dir: Path
    conf: Path
    tls_port: int
    plain_port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        ports = [self.tls_port] + ([self.plain_port] if self.plain_port else [])
        if not all(wait_for_port("127.0.0.1", port, 10) for port in ports):
            self.stop()
            raise RuntimeError(f"mosquitto did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # SIGTERM saves the persistence file
            self.proc.wait(10)
            self.proc = None

    def log(self) -> str:
        path = self.out_dir / "mosquitto.log"
        return path.read_text() if path.exists() else "(no log)"


@pytest.fixture
def broker_dir() -> Iterator[Path]:
    # Started as root, Mosquitto reads its files as user "mosquitto", which
    # cannot enter pytest's private tmp directories: use a world-traversable one.
    path = Path(tempfile.mkdtemp(prefix="anxin-mosquitto-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


StartBroker = Callable[..., Mosquitto]


@pytest.fixture
def start_broker(broker_dir: Path) -> Iterator[StartBroker]:
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    started: list[Mosquitto] = []

    def start(**options: Any) -> Mosquitto:
        out = broker_dir / "broker"
        tls_port = free_port()
        plain_port = free_port()
        while plain_port == tls_port:  # the OS may hand the same free port out twice
            plain_port = free_port()
        conf = write_config(
            out,
            hall=HALL,
            secret=SECRET,
            device_ids=DEVICES,
            tls_port=tls_port,
            plain_port=plain_port,
            bind="127.0.0.1",
            log_file=out / "mosquitto.log",
            client_certs=True,
            **options,
        )
        broker = Mosquitto(out, conf, tls_port, plain_port)
        broker.start()
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


@dataclass
class Peer:
    """A plain paho client that records what it receives."""

    client: mqtt.Client
    reason: ReasonCode | None = None
    inbox: queue.Queue[mqtt.MQTTMessage] = field(default_factory=queue.Queue)
    answered: threading.Event = field(default_factory=threading.Event)

    def subscribe(self, topic: str) -> list[ReasonCode]:
        granted: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.client.on_subscribe = lambda _c, _u, _m, codes, _p: granted.put(codes)
        self.client.subscribe(topic, qos=1)
        return granted.get(timeout=TIMEOUT_S)

    def publish(self, topic: str, payload: bytes = b"{}", retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT_S)

    def receive(self) -> mqtt.MQTTMessage:
        return self.inbox.get(timeout=TIMEOUT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connect(broker_dir: Path) -> Iterator[Callable[..., Peer]]:
    peers: list[Peer] = []

    def connect_(
        broker: Mosquitto,
        user: str | None,
        *,
        password: str | None = None,
        tls: bool = True,
        cert: bool = False,
        ca_file: Path | None = None,
        clean: bool = True,
    ) -> Peer:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=user or "anonymous",
            clean_session=clean,
            protocol=mqtt.MQTTv311,
        )
        peer = Peer(client)
        if user is not None:
            client.username_pw_set(
                user, mqtt_password(SECRET, user) if password is None else password
            )
        if tls:
            client.tls_set(
                ca_certs=str(ca_file or broker.out_dir / "certs" / "ca.crt"),
                certfile=str(broker.out_dir / "clients" / f"{user}.crt") if cert else None,
                keyfile=str(broker.out_dir / "clients" / f"{user}.key") if cert else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
            peer.reason = rc
            if rc.is_failure:
                c.disconnect()  # or paho's loop keeps retrying until the test ends
            peer.answered.set()

        def on_disconnect(c: mqtt.Client, _u: Any, _f: Any, _rc: ReasonCode, _p: Any) -> None:
            c.disconnect()  # a test peer never reconnects on its own
            peer.answered.set()  # also when dropped without a CONNACK, e.g. by TLS

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = lambda _c, _u, msg: peer.inbox.put(msg)
        peers.append(peer)
        client.connect("127.0.0.1", broker.tls_port if tls else broker.plain_port)
        client.loop_start()
        assert peer.answered.wait(TIMEOUT_S), "neither CONNACK nor disconnect"
        return peer

    yield connect_
    for peer in peers:
        peer.close()


def _admitted(peer: Peer) -> bool:
    return peer.reason is not None and not peer.reason.is_failure


def _event(seq: int) -> bytes:
    return encode(Event(event_id=f"e{seq}", boot_id="boot", seq=seq, ts=datetime.now(UTC)))


def _hub(broker: Mosquitto, connect: Callable[..., Peer], topic: str, *, tls: bool = True) -> Peer:
    hub = connect(broker, HUB_USER, tls=tls)
    assert _admitted(hub)
    assert not hub.subscribe(topic)[0].is_failure
    return hub


# --- tests ----------------------------------------------------------------------


def test_generated_configuration_starts_mosquitto_cleanly(start_broker: StartBroker) -> None:
    broker = start_broker()
    assert broker.proc is not None
    assert broker.proc.poll() is None
    assert wait_for_port("127.0.0.1", broker.plain_port, 1)
    log = broker.log()
    assert "Error" not in log, log
    assert "Warning" not in log, log


def test_device_events_over_tls_reach_the_hub(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    hub = _hub(broker, connect, f"{TOPICS.root}/#")
    device = connect(broker, "kiosk-01")
    assert _admitted(device)
    event = _event(1)
    device.publish(TOPICS.event("kiosk-01", "ticket_taken"), event)
    msg = hub.receive()
    assert (msg.topic, msg.payload) == (TOPICS.event("kiosk-01", "ticket_taken"), event)


def test_device_cannot_publish_as_another_device(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    hub = _hub(broker, connect, f"{TOPICS.root}/#")
    device = connect(broker, "kiosk-01")
    device.publish(TOPICS.event("kiosk-02", "ticket_taken"), _event(1))
    device.publish(TOPICS.status("kiosk-02"), b"{}", retain=True)
    device.publish(TOPICS.event("kiosk-01", "sentinel"), _event(2))
    assert hub.receive().topic == TOPICS.event("kiosk-01", "sentinel")


def test_device_cannot_read_another_devices_commands(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    hub = _hub(broker, connect, f"{TOPICS.root}/#")
    device = connect(broker, "kiosk-01")
    # Mosquitto 2.0 grants the subscription but delivers nothing the ACL denies.
    device.subscribe(f"{TOPICS.root}/dev/kiosk-02/cmd/+")
    device.subscribe(f"{TOPICS.root}/dev/+/cmd/+")
    device.subscribe(f"{TOPICS.root}/#")
    hub.publish(TOPICS.command("kiosk-02", "reboot"))
    hub.publish(TOPICS.config("kiosk-02"))
    hub.publish(TOPICS.command("kiosk-01", "sentinel"))
    assert device.receive().topic == TOPICS.command("kiosk-01", "sentinel")


@pytest.mark.parametrize(
    "topic",
    [
        TOPICS.command("kiosk-01", "reboot"),
        TOPICS.ack("kiosk-01"),
        TOPICS.config("kiosk-01"),
        TOPICS.hub_status(),
        TOPICS.hall_calls(),
    ],
    ids=["cmd", "ack", "config", "hub-status", "hall"],
)
def test_device_cannot_write_what_only_the_hub_writes(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
    topic: str,
) -> None:
    broker = start_broker()
    hub = _hub(broker, connect, f"{TOPICS.root}/#")
    device = connect(broker, "kiosk-01")
    device.publish(topic)
    device.publish(TOPICS.event("kiosk-01", "sentinel"), _event(1))
    assert hub.receive().topic == TOPICS.event("kiosk-01", "sentinel")


def test_wrong_password_is_refused(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    peer = connect(broker, "kiosk-01", password=mqtt_password("another-secret", "kiosk-01"))
    assert not _admitted(peer)


def test_one_devices_password_does_not_open_another_device(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    peer = connect(broker, "kiosk-02", password=mqtt_password(SECRET, "kiosk-01"))
    assert not _admitted(peer)


def test_unregistered_device_is_refused_even_with_a_derived_password(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    assert not _admitted(connect(broker, "kiosk-99"))


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "loopback"])
def test_anonymous_client_is_refused(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
    tls: bool,
) -> None:
    broker = start_broker()
    assert not _admitted(connect(broker, None, tls=tls))


def test_hub_on_the_loopback_listener_logs_in_with_its_password(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    assert _admitted(connect(broker, HUB_USER, tls=False))
    assert not _admitted(connect(broker, HUB_USER, tls=False, password="guess"))


def test_device_trusting_another_halls_ca_refuses_the_broker(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
    broker_dir: Path,
) -> None:
    broker = start_broker()
    other = generate_ca(broker_dir / "other-hall", "other")
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(broker, "kiosk-01", ca_file=other.cert)


def test_device_with_its_certificate_is_admitted_when_certificates_are_required(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker(require_certificate=True)
    hub = _hub(broker, connect, f"{TOPICS.root}/#", tls=False)  # the hub on this box
    device = connect(broker, "kiosk-01", cert=True)
    assert _admitted(device)
    device.publish(TOPICS.event("kiosk-01", "ticket_taken"), _event(1))
    assert hub.receive().topic == TOPICS.event("kiosk-01", "ticket_taken")


def test_device_without_a_certificate_is_refused_when_certificates_are_required(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker(require_certificate=True)
    peer = connect(broker, "kiosk-01")
    assert not _admitted(peer)


def test_certificate_identity_keeps_the_device_to_its_own_branch(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker(require_certificate=True, use_identity_as_username=True)
    hub = _hub(broker, connect, f"{TOPICS.root}/#", tls=False)
    # The user comes from the certificate CN; a claimed user name is ignored.
    device = connect(broker, "kiosk-01", cert=True, password="ignored")
    assert _admitted(device)
    device.publish(TOPICS.command("kiosk-02", "reboot"))
    device.publish(TOPICS.event("kiosk-01", "sentinel"), _event(1))
    assert hub.receive().topic == TOPICS.event("kiosk-01", "sentinel")


def test_command_for_an_offline_device_survives_a_broker_restart(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    device = connect(broker, "kiosk-01", clean=False)
    device.subscribe(f"{TOPICS.root}/dev/kiosk-01/cmd/+")
    device.close()
    hub = connect(broker, HUB_USER)
    hub.publish(TOPICS.command("kiosk-01", "print"), b'{"n": 1}')
    hub.close()
    broker.stop()
    broker.start()
    device = connect(broker, "kiosk-01", clean=False)
    msg = device.receive()
    assert (msg.topic, msg.payload) == (TOPICS.command("kiosk-01", "print"), b'{"n": 1}')


def test_payload_larger_than_the_contract_allows_never_reaches_the_hub(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    hub = _hub(broker, connect, f"{TOPICS.root}/#")
    device = connect(broker, "kiosk-01")
    device.publish(TOPICS.event("kiosk-01", "too_big"), b"x" * (MAX_PAYLOAD_BYTES + 1))
    device.publish(TOPICS.event("kiosk-01", "largest"), b"x" * MAX_PAYLOAD_BYTES)
    assert hub.receive().topic == TOPICS.event("kiosk-01", "largest")


def test_device_registered_later_is_admitted_after_a_reload(
    start_broker: StartBroker,
    connect: Callable[..., Peer],
) -> None:
    broker = start_broker()
    assert not _admitted(connect(broker, "kiosk-03"))
    write_config(
        broker.out_dir,
        hall=HALL,
        secret=SECRET,
        device_ids=[*DEVICES, "kiosk-03"],
        tls_port=broker.tls_port,
        plain_port=broker.plain_port,
        bind="127.0.0.1",
        log_file=broker.out_dir / "mosquitto.log",
    )
    assert broker.proc is not None
    broker.proc.send_signal(signal.SIGHUP)  # what `systemctl reload mosquitto` does
    deadline = time.monotonic() + TIMEOUT_S
    while not _admitted(connect(broker, "kiosk-03")):
        assert time.monotonic() < deadline, broker.log()
        time.sleep(0.05)
