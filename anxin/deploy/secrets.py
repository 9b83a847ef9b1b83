"""The hall's secrets, kept on the controller in a git-ignored folder, and the
broker files rendered from them.

Layout of the secrets folder (``ansible/secrets/{hall}/`` by default)::

    hall_secret          hub.secret_key: session cookies, MQTT passwords (HMAC)
    identity_key         queue.identity_key: hashes of citizen ID numbers
    contact_key          notify.contact_key: Fernet key of stored phone numbers
    database_password    the hub's PostgreSQL password
    ca/ca.crt, ca.key    the hall CA (broker.mosquitto.certs); the key never leaves here
    broker/server.*      the broker's TLS certificate
    web/server.*         the hub's HTTPS certificate (reverse proxy)
    clients/{user}.*     one client certificate per device, and the hub's
    mqtt/{user}          the MQTT password of each device and of the hub

Citizen hashes and stored phone numbers get their own keys, so that the hall
secret (and with it every MQTT password) can be rotated without making them
unreadable. Everything is created once and kept: running again only adds
what is missing (a new device), unless a rotation is asked for.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets as pysecrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from broker.contract import HUB_USER
from broker.mosquitto.acl import check_device_ids
from broker.mosquitto.certs import (
    CaPaths,
    CertPaths,
    HallCerts,
    generate_ca,
    issue_client_cert,
    issue_server_cert,
    write_private,
)

# Reissue a certificate that expires within this many days when rotating "due" ones.
RENEW_BEFORE_DAYS: Final = 60


@dataclass
class SecretsReport:
    created: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        made = ", ".join(self.created) or "nothing"
        turned = ", ".join(self.rotated) or "nothing"
        return f"created: {made}; rotated: {turned}"


def _token(nbytes: int = 32) -> str:
    return pysecrets.token_urlsafe(nbytes)


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(pysecrets.token_bytes(32)).decode()


def _ensure_value(path: Path, make: str, report: SecretsReport, *, rotate: bool = False) -> str:
    if path.exists() and not rotate:
        return path.read_text().strip()
    write_private(path, (make + "\n").encode())
    (report.rotated if rotate else report.created).append(path.name)
    return make


def _expires_within(cert: Path, days: int) -> bool:
    from cryptography import x509

    not_after = x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc
    return not_after - dt.datetime.now(dt.UTC) < dt.timedelta(days=days)


def ensure_secrets(
    directory: Path,
    *,
    hall: str,
    device_ids: Iterable[str],
    broker_names: Iterable[str] = (),
    web_names: Iterable[str] = (),
    rotate_certs: Iterable[str] = (),
    rotate_due: bool = False,
    rotate_secret: bool = False,
) -> SecretsReport:
    """Create what is missing; reissue the certificates of `rotate_certs`
    (device ids, ``hub``, ``broker``, ``web`` or ``all``) and, with
    `rotate_due`, every one expiring within RENEW_BEFORE_DAYS. `rotate_secret`
    replaces the hall secret, so every MQTT password changes."""
    ids = check_device_ids(device_ids)
    users = [HUB_USER, *ids]
    wanted = set(rotate_certs)
    every = "all" in wanted
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    report = SecretsReport()
    secret = _ensure_value(directory / "hall_secret", _token(), report, rotate=rotate_secret)
    _ensure_value(directory / "identity_key", _token(), report)
    _ensure_value(directory / "contact_key", _fernet_key(), report)
    _ensure_value(directory / "database_password", _token(24), report)

    ca_dir = directory / "ca"
    if not (ca_dir / "ca.crt").exists():
        report.created.append("hall CA")
    ca = generate_ca(ca_dir, hall)

    def due(cert: Path, name: str) -> bool:
        if not cert.exists():
            report.created.append(f"{name} certificate")
            return True
        if every or name in wanted or (rotate_due and _expires_within(cert, RENEW_BEFORE_DAYS)):
            report.rotated.append(f"{name} certificate")
            return True
        return False

    if due(directory / "broker" / "server.crt", "broker"):
        issue_server_cert(ca, directory / "broker", broker_names)
    if due(directory / "web" / "server.crt", "web"):
        issue_server_cert(ca, directory / "web", web_names)
    for user in users:
        if due(directory / "clients" / f"{user}.crt", user):
            issue_client_cert(ca, directory / "clients", user)

    from broker.credentials import mqtt_password

    mqtt_dir = directory / "mqtt"
    mqtt_dir.mkdir(exist_ok=True)
    for user in users:
        write_private(mqtt_dir / user, mqtt_password(secret, user).encode())
    return report


def render_broker_files(
    secrets_dir: Path,
    out_dir: Path,
    *,
    hall: str,
    device_ids: Iterable[str],
    target_dir: Path,
    persistence_dir: Path,
    tls_port: int = 8883,
    plain_port: int | None = None,
    bind: str = "0.0.0.0",  # noqa: S104 - devices reach the broker over the hall LAN
    require_certificate: bool = True,
    user: str = "mosquitto",
) -> list[Path]:
    """``mosquitto.conf``, ``acl`` and ``passwd`` for the broker host, with
    paths under `target_dir` there, rendered by `broker.mosquitto`.

    A password hash that still matches is kept (the salt is random), so an
    unchanged hall renders unchanged files and Ansible restarts nothing.
    """
    from broker.mosquitto.acl import render_acl
    from broker.mosquitto.conf import TlsListener, render_config
    from broker.mosquitto.passwd import hash_password, verify_password

    ids = check_device_ids(device_ids)
    secret = (secrets_dir / "hall_secret").read_text().strip()
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir.chmod(0o700)
    from broker.credentials import mqtt_password

    old: dict[str, str] = {}
    passwd = out_dir / "passwd"
    if passwd.exists():
        for line in passwd.read_text().splitlines():
            name, _, encoded = line.partition(":")
            old[name] = encoded
    lines = []
    for name in [HUB_USER, *ids]:
        password = mqtt_password(secret, name)
        encoded = old.get(name, "")
        if not verify_password(encoded, password):
            encoded = hash_password(password)
        lines.append(f"{name}:{encoded}\n")
    write_private(passwd, "".join(lines).encode())
    acl = out_dir / "acl"
    acl.write_text(render_acl(hall, ids))
    # Paths as they will be on the broker host. The CA key is not among them:
    # it stays on the controller.
    certs = HallCerts(
        ca=CaPaths(cert=target_dir / "ca.crt", key=secrets_dir / "ca" / "ca.key"),
        ca_cert=target_dir / "ca.crt",
        server=CertPaths(cert=target_dir / "server.crt", key=target_dir / "server.key"),
        clients={},
    )
    conf = out_dir / "mosquitto.conf"
    conf.write_text(
        render_config(
            hall=hall,
            password_file=target_dir / "passwd",
            acl_file=target_dir / "acl",
            certs=certs,
            persistence_dir=persistence_dir,
            tls=TlsListener(tls_port, bind, require_certificate, False),
            plain_port=plain_port,
            user=user,
        )
    )
    return [conf, acl, passwd]
