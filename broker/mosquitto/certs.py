"""The hall certificate authority: one CA per hall, a server certificate for
the broker and a client certificate per device.

A private CA (rather than a public one) because halls run on closed networks
with no public DNS name; devices trust exactly this CA and nothing else.
EC P-256 keys: small, fast on a Raspberry Pi, and accepted by every OpenSSL
Mosquitto and Python link against.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from broker.contract import HUB_USER

CA_DAYS: Final = 3650
LEAF_DAYS: Final = 730
DEFAULT_SERVER_NAMES: Final = ("localhost", "127.0.0.1")
_USER_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_ORG: Final = "Anxin Hall"


@dataclass(frozen=True)
class CertPaths:
    """A certificate and its private key on disk (PEM)."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class CaPaths(CertPaths):
    """The hall CA. Its key signs every broker and device certificate."""


def generate_ca(directory: Path, hall: str, *, force: bool = False) -> CaPaths:
    """Create ``ca.crt``/``ca.key`` in `directory`, or return the existing CA.

    An existing CA is kept unless `force`: replacing it would silently cut off
    every device that trusts the old one.
    """
    ca = CaPaths(cert=directory / "ca.crt", key=directory / "ca.key")
    if not force and ca.cert.exists() and ca.key.exists():
        _load_ca(ca)  # fail now, not at the first issue, if the files are broken
        return ca
    if not force and (ca.cert.exists() or ca.key.exists()):
        raise FileExistsError(f"half a CA in {directory}: remove it or pass force=True")
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Anxin Hall CA ({hall})"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(ca.key, key)
    _write_cert(ca.cert, cert)
    return ca


def issue_server_cert(ca: CaPaths, directory: Path, names: Iterable[str] = ()) -> CertPaths:
    """Issue ``server.crt``/``server.key`` for the broker.

    `names` are host names or IP addresses devices use to reach the broker;
    localhost and 127.0.0.1 are always added so the hub on the same box can
    verify it too. Reissuing replaces the previous server certificate.
    """
    all_names = list(dict.fromkeys([*names, *DEFAULT_SERVER_NAMES]))
    sans: list[x509.GeneralName] = []
    for n in all_names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    return _issue(
        ca,
        directory / "server.crt",
        directory / "server.key",
        common_name=all_names[0],
        sans=sans,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
    )


def issue_client_cert(ca: CaPaths, directory: Path, user: str) -> CertPaths:
    """Issue ``{user}.crt``/``{user}.key``; CN is the MQTT user (the device id).

    CN = user lets Mosquitto's ``use_identity_as_username`` map the certificate
    onto the same ACL entry as the password login.
    """
    if user != HUB_USER and not _USER_RE.fullmatch(user):
        raise ValueError(f"invalid MQTT user {user!r}")
    return _issue(
        ca,
        directory / f"{user}.crt",
        directory / f"{user}.key",
        common_name=user,
        sans=[],
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )


def _issue(
    ca: CaPaths,
    cert_path: Path,
    key_path: Path,
    *,
    common_name: str,
    sans: list[x509.GeneralName],
    usage: x509.ObjectIdentifier,
) -> CertPaths:
    ca_key, ca_cert = _load_ca(ca)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Backdated a little: a Pi without RTC may boot with a slightly late clock.
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return CertPaths(cert=cert_path, key=key_path)


def _load_ca(ca: CaPaths) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca.key}: expected an EC private key")
    return key, x509.load_pem_x509_certificate(ca.cert.read_bytes())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only, also when it already exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to an existing file
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class HallCerts:
    """What the broker and devices need, laid out under one directory:
    ``ca/`` (CA key: keep it off the broker if you can), ``certs/`` (what the
    broker reads) and ``clients/`` (one pair per device, to copy to it)."""

    ca: CaPaths
    ca_cert: Path
    server: CertPaths
    clients: dict[str, CertPaths]


def write_certs(
    out_dir: Path,
    *,
    hall: str,
    names: Iterable[str] = (),
    device_ids: Iterable[str] = (),
    ca: CaPaths | None = None,
    force: bool = False,
) -> HallCerts:
    """The CA (created once, in ``out_dir/ca`` unless `ca` is given), a fresh
    server certificate for `names` and a client certificate per device."""
    ca = ca or generate_ca(out_dir / "ca", hall, force=force)
    broker_dir = out_dir / "certs"
    broker_dir.mkdir(parents=True, exist_ok=True)
    ca_cert = broker_dir / "ca.crt"
    ca_cert.write_bytes(ca.cert.read_bytes())
    server = issue_server_cert(ca, broker_dir, names)
    clients = {d: issue_client_cert(ca, out_dir / "clients", d) for d in device_ids}
    return HallCerts(ca=ca, ca_cert=ca_cert, server=server, clients=clients)
