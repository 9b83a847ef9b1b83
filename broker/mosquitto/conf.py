"""The production ``mosquitto.conf`` and the files it names, in one directory.

Layout of `write_config`'s output (paths in the config are absolute)::

    mosquitto.conf   this configuration
    passwd           hub + every device, PBKDF2-SHA512 hashes (0600)
    acl              from broker.contract.acl_rules
    ca/              the hall CA (see broker.mosquitto.certs.write_certs)
    certs/           ca.crt, server.crt, server.key: what the broker reads
    clients/         {device}.crt/.key when client certificates are issued
    data/            persistence (unless persistence_dir is given)
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Final

from broker.contract import HUB_USER, MAX_PAYLOAD_BYTES
from broker.mosquitto.acl import check_device_ids, write_acl_file
from broker.mosquitto.certs import CaPaths, HallCerts, write_certs
from broker.mosquitto.passwd import write_password_file

MOSQUITTO_VERSION: Final = "2.0"
# Topic (ours are < 200 bytes), fixed header, packet id and MQTT 5 properties.
PACKET_HEADROOM: Final = 4096
DEFAULT_TLS_PORT: Final = 8883
DEFAULT_MAX_QUEUED: Final = 1000


@dataclass(frozen=True)
class TlsListener:
    port: int = DEFAULT_TLS_PORT
    bind: str = "0.0.0.0"  # noqa: S104 - devices reach the broker over the hall LAN
    require_certificate: bool = False
    use_identity_as_username: bool = False


def render_config(
    *,
    hall: str,
    password_file: Path,
    acl_file: Path,
    certs: HallCerts,
    persistence_dir: Path,
    tls: TlsListener,
    plain_port: int | None = None,
    log_file: Path | None = None,
    user: str = "mosquitto",
    username_as_client_id: bool = False,
    max_queued_messages: int = DEFAULT_MAX_QUEUED,
) -> str:
    """The text of ``mosquitto.conf``; `write_config` writes it with its files."""
    if tls.use_identity_as_username and not tls.require_certificate:
        raise ValueError("use_identity_as_username needs require_certificate")
    template = Template(files(__package__).joinpath("mosquitto.conf.tmpl").read_text())
    listeners = [_tls_listener(tls, certs)]
    if plain_port is not None:
        listeners.append(_plain_listener(plain_port))
    return template.substitute(
        mosquitto_version=MOSQUITTO_VERSION,
        hall=hall,
        user=user,
        password_file=password_file,
        acl_file=acl_file,
        username_as_client_id=_bool(username_as_client_id),
        # Mosquitto appends file names to this prefix: it needs the slash.
        persistence_location=f"{persistence_dir}/",
        max_queued_messages=max_queued_messages,
        max_payload=MAX_PAYLOAD_BYTES,
        max_packet_size=MAX_PAYLOAD_BYTES + PACKET_HEADROOM,
        log_dest=f"file {log_file}" if log_file else "stderr",
        listeners="\n".join(listeners),
    )


def _tls_listener(tls: TlsListener, certs: HallCerts) -> str:
    return (
        "# Devices: TLS, the server certificate signed by the hall CA.\n"
        "# require_certificate true additionally demands a client certificate from\n"
        "# the hall CA (mutual TLS) on top of the password. use_identity_as_username\n"
        "# true then takes the user from the certificate CN (the device id) and no\n"
        "# longer checks the password: a stolen key alone then logs in.\n"
        f"listener {tls.port} {tls.bind}\n"
        f"cafile {certs.ca_cert}\n"
        f"certfile {certs.server.cert}\n"
        f"keyfile {certs.server.key}\n"
        f"require_certificate {_bool(tls.require_certificate)}\n"
        f"use_identity_as_username {_bool(tls.use_identity_as_username)}\n"
    )


def _plain_listener(port: int) -> str:
    return (
        "# The hub on this box: loopback only, no TLS, passwords still required.\n"
        f"listener {port} 127.0.0.1\n"
    )


def write_config(
    out_dir: Path,
    *,
    hall: str,
    secret: str,
    device_ids: Iterable[str],
    ca: CaPaths | None = None,
    server_names: Iterable[str] = (),
    tls_port: int = DEFAULT_TLS_PORT,
    plain_port: int | None = None,
    bind: str = "0.0.0.0",  # noqa: S104 - see TlsListener
    require_certificate: bool = False,
    use_identity_as_username: bool = False,
    client_certs: bool = False,
    username_as_client_id: bool = False,
    max_queued_messages: int = DEFAULT_MAX_QUEUED,
    persistence_dir: Path | None = None,
    log_file: Path | None = None,
    user: str = "mosquitto",
) -> Path:
    """Write ``mosquitto.conf``, ``passwd``, ``acl`` and certificates; return
    the config path. Run ``mosquitto -c <path>``.

    The CA is created in ``out_dir/ca`` on first use and reused after; pass
    `ca` to sign with a CA kept elsewhere. `client_certs` also issues one
    certificate per device into ``out_dir/clients``.
    """
    ids = check_device_ids(device_ids)
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    certs = write_certs(
        out_dir,
        hall=hall,
        names=server_names,
        ca=ca,
        device_ids=ids if client_certs else (),
    )
    passwd = write_password_file(out_dir / "passwd", secret, [HUB_USER, *ids])
    acl = write_acl_file(out_dir / "acl", hall, ids)
    data = (persistence_dir or out_dir / "data").resolve()
    data.mkdir(parents=True, exist_ok=True)
    owned = [passwd, acl, certs.server.key, data]
    if log_file is not None:
        log_file.touch()
        owned.append(log_file)
    _hand_to_broker_user(user, owned)
    conf = out_dir / "mosquitto.conf"
    conf.write_text(
        render_config(
            hall=hall,
            password_file=passwd,
            acl_file=acl,
            certs=certs,
            persistence_dir=data,
            tls=TlsListener(tls_port, bind, require_certificate, use_identity_as_username),
            plain_port=plain_port,
            log_file=log_file,
            user=user,
            username_as_client_id=username_as_client_id,
            max_queued_messages=max_queued_messages,
        )
    )
    return conf


def _hand_to_broker_user(user: str, paths: list[Path]) -> None:
    """Mosquitto 2.0 drops root for `user` *before* it opens the password file,
    ACL, server key, log and persistence; when we run as root (the usual
    install), hand those to that user now rather than have the broker refuse
    to start. A missing user (or not being root) leaves ownership alone."""
    if os.geteuid() != 0:
        return
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return
    for p in paths:
        os.chown(p, entry.pw_uid, entry.pw_gid)


def _bool(value: bool) -> str:
    return "true" if value else "false"
