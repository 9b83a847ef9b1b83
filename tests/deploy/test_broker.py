"""The broker role's files for the demo hall, loaded by a real Mosquitto.

The playbook writes mosquitto.conf, the ACL, the password file and the
certificates into a temporary folder (rendered on the "controller" by
broker.mosquitto, then copied as on a broker host). A device then logs in
with its own certificate and password, may publish on its own topics and is
refused on another device's. Refusals are checked with a sentinel: the same
client's next QoS 1 message arrives after the forbidden one would have.
"""

from __future__ import annotations

import getpass
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.ports import free_port, wait_for_port
from broker.contract import Topics
from tests.deploy.conftest import playbook

TOPICS = Topics("demo")
TIMEOUT_S = 5.0


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[dict[str, object]]:
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    # Mosquitto started as root reads its files as "mosquitto": use a folder it can enter.
    broker_dir = Path(tempfile.mkdtemp(prefix="anxin-deploy-broker-"))
    broker_dir.chmod(0o755)
    tls_port, plain_port = free_port(), free_port()
    while plain_port == tls_port:
        plain_port = free_port()
    user = "mosquitto" if os.geteuid() == 0 else getpass.getuser()
    extra: dict[str, object] = {
        "anxin_secrets_dir": str(tmp_path / "secrets"),
        "broker_conf_dir": str(broker_dir / "etc"),
        "broker_conf_file": str(broker_dir / "mosquitto.conf"),
        "broker_persistence_dir": str(broker_dir / "data"),
        "broker_bind": "127.0.0.1",
        "broker_tls_port": tls_port,
        "broker_plain_port": plain_port,
        "broker_user": user,
        "broker_group": user if user != "mosquitto" else "mosquitto",
    }
    try:
        yield {**extra, "dir": broker_dir, "secrets": tmp_path / "secrets"}
    finally:
        shutil.rmtree(broker_dir, ignore_errors=True)


def start_mosquitto(conf: Path, ports: list[int]) -> subprocess.Popen[bytes]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.PIPE)
    if not all(wait_for_port("127.0.0.1", p, 10) for p in ports):
        proc.kill()
        _, err = proc.communicate(timeout=5)
        raise AssertionError(f"mosquitto refused the generated config:\n{err.decode()}")
    return proc


class Client:
    def __init__(self, user: str, password: str, port: int, tls: dict[str, str] | None) -> None:
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connected: queue.Queue[int] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user)
        self.client.username_pw_set(user, password)
        if tls is not None:
            self.client.tls_set(
                ca_certs=tls["ca_certs"], certfile=tls.get("certfile"), keyfile=tls.get("keyfile")
            )
        self.client.on_message = lambda _c, _u, msg: self.inbox.put(msg)
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connected.put(rc.value)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def wait_connected(self) -> int:
        return self.connected.get(timeout=TIMEOUT_S)

    def subscribe(self, topic: str) -> int:
        granted: queue.Queue[int] = queue.Queue()
        self.client.on_subscribe = lambda _c, _u, _m, codes, _p: granted.put(codes[0].value)
        self.client.subscribe(topic, qos=1)
        return granted.get(timeout=TIMEOUT_S)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(TIMEOUT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.timeout(400)
def test_generated_broker_admits_a_device_by_its_certificate_and_holds_it_to_its_topics(
    hall: dict[str, object],
) -> None:
    extra = {k: v for k, v in hall.items() if k not in ("dir", "secrets")}
    played = playbook("../tests/deploy/playbooks/broker_files.yml", extra, limit="broker:localhost")
    assert played.returncode == 0, played.output
    broker_dir = Path(str(hall["dir"]))
    secrets = Path(str(hall["secrets"]))
    acl = (broker_dir / "etc" / "acl").read_text()
    for device in ("kiosk-01", "caller-04", "board-02", "signlang-01"):
        assert f"user {device}\n" in acl
    assert oct((broker_dir / "etc" / "passwd").stat().st_mode)[-2:] == "00"  # owner only

    proc = start_mosquitto(broker_dir / "mosquitto.conf", [int(str(hall["broker_tls_port"]))])
    clients: list[Client] = []
    try:

        def password(user: str) -> str:
            return (secrets / "mqtt" / user).read_text()

        hub = Client("hub", password("hub"), int(str(hall["broker_plain_port"])), None)
        clients.append(hub)
        assert hub.wait_connected() == 0
        assert hub.subscribe(TOPICS.health("+")) < 128

        tls = {
            "ca_certs": str(secrets / "ca" / "ca.crt"),
            "certfile": str(secrets / "clients" / "kiosk-01.crt"),
            "keyfile": str(secrets / "clients" / "kiosk-01.key"),
        }
        kiosk = Client("kiosk-01", password("kiosk-01"), int(str(hall["broker_tls_port"])), tls)
        clients.append(kiosk)
        assert kiosk.wait_connected() == 0

        # Its own topic: delivered.
        kiosk.publish(TOPICS.health("kiosk-01"), b"own")
        assert hub.inbox.get(timeout=TIMEOUT_S).payload == b"own"
        # Another device's topic: dropped; the sentinel after it arrives alone.
        kiosk.publish(TOPICS.health("kiosk-02"), b"forged")
        kiosk.publish(TOPICS.health("kiosk-01"), b"sentinel")
        got = hub.inbox.get(timeout=TIMEOUT_S)
        assert (got.topic, got.payload) == (TOPICS.health("kiosk-01"), b"sentinel")
        # Another device's commands never reach it; its own do.
        kiosk.subscribe(TOPICS.command("kiosk-02", "ping"))
        kiosk.subscribe(TOPICS.command("kiosk-01", "ping"))
        hub.publish(TOPICS.command("kiosk-02", "ping"), b"not yours")
        hub.publish(TOPICS.command("kiosk-01", "ping"), b"yours")
        got = kiosk.inbox.get(timeout=TIMEOUT_S)
        assert (got.topic, got.payload) == (TOPICS.command("kiosk-01", "ping"), b"yours")

        # Without its certificate the same device is not let in.
        bare = Client(
            "kiosk-01-nocert", password("kiosk-01"), int(str(hall["broker_tls_port"])),
            {"ca_certs": str(secrets / "ca" / "ca.crt")},
        )  # fmt: skip
        clients.append(bare)
        with pytest.raises((queue.Empty, AssertionError)):
            assert bare.wait_connected() == 0
    finally:
        for c in clients:
            c.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


@pytest.mark.timeout(400)
def test_rendering_twice_changes_nothing_on_the_broker(hall: dict[str, object]) -> None:
    extra = {k: v for k, v in hall.items() if k not in ("dir", "secrets")}
    first = playbook("../tests/deploy/playbooks/broker_files.yml", extra, limit="broker:localhost")
    assert first.returncode == 0, first.output
    second = playbook("../tests/deploy/playbooks/broker_files.yml", extra, limit="broker:localhost")
    assert second.returncode == 0, second.output
    recap = second.output.split("PLAY RECAP")[-1]
    assert re.findall(r"changed=(\d+)", recap) == ["0", "0"], recap
