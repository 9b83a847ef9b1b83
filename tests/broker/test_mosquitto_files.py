"""The files behind the production broker: CA, certificates, password file, ACL."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from broker.credentials import mqtt_password
from broker.mosquitto import (
    generate_ca,
    issue_client_cert,
    issue_server_cert,
    render_acl,
    verify_password,
    write_config,
)
from broker.mosquitto.passwd import hash_password, render_password_file


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_hall_ca_is_kept_when_generated_again(tmp_path: Path) -> None:
    first = generate_ca(tmp_path, "test")
    before = first.cert.read_bytes()
    again = generate_ca(tmp_path, "test")
    assert again.cert.read_bytes() == before


def test_hall_ca_is_replaced_only_when_forced(tmp_path: Path) -> None:
    before = generate_ca(tmp_path, "test").cert.read_bytes()
    assert generate_ca(tmp_path, "test", force=True).cert.read_bytes() != before


def test_private_keys_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    ca = generate_ca(tmp_path / "ca", "test")
    server = issue_server_cert(ca, tmp_path / "srv")
    client = issue_client_cert(ca, tmp_path / "cli", "kiosk-01")
    for key in (ca.key, server.key, client.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_server_certificate_names_the_given_hosts_and_this_box(tmp_path: Path) -> None:
    ca = generate_ca(tmp_path, "test")
    server = issue_server_cert(ca, tmp_path, ["hub.hall.local", "192.168.1.10"])
    sans = _cert(server.cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    names = sans.value.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)]
    assert set(names) == {"hub.hall.local", "localhost"}
    assert set(ips) == {"192.168.1.10", "127.0.0.1"}


def test_device_certificate_carries_its_id_and_is_signed_by_the_hall_ca(tmp_path: Path) -> None:
    ca = generate_ca(tmp_path, "test")
    client = _cert(issue_client_cert(ca, tmp_path, "kiosk-01").cert)
    cn = client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "kiosk-01"
    ca_key = _cert(ca.cert).public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey)
    client.verify_directly_issued_by(_cert(ca.cert))
    assert (client.not_valid_after_utc - client.not_valid_before_utc).days >= 729


def test_device_certificate_refuses_an_id_that_is_no_mqtt_user(tmp_path: Path) -> None:
    ca = generate_ca(tmp_path, "test")
    with pytest.raises(ValueError, match="invalid MQTT user"):
        issue_client_cert(ca, tmp_path, "../etc/passwd")


def test_password_hashed_by_mosquitto_passwd_is_verified_by_ours(tmp_path: Path) -> None:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd is not installed")
    pw_file = tmp_path / "pw"
    subprocess.run([tool, "-b", "-c", str(pw_file), "kiosk-01", "s3cret"], check=True)
    encoded = pw_file.read_text().strip().split(":", 1)[1]
    assert verify_password(encoded, "s3cret")
    assert not verify_password(encoded, "s3cret!")


def test_password_hash_has_mosquitto_2_layout() -> None:
    encoded = hash_password("pw", salt=b"\x00" * 12)
    assert encoded.startswith("$7$101$AAAAAAAAAAAAAAAA$")
    assert verify_password(encoded, "pw")


def test_password_file_holds_each_users_derived_password() -> None:
    lines = dict(
        line.split(":", 1) for line in render_password_file("s", ["hub", "kiosk-01"]).splitlines()
    )
    assert set(lines) == {"hub", "kiosk-01"}
    assert verify_password(lines["kiosk-01"], mqtt_password("s", "kiosk-01"))
    assert not verify_password(lines["kiosk-01"], mqtt_password("s", "hub"))


@pytest.mark.parametrize("bad", ["kiosk 01", "kiosk-01\nuser hub", "hub", "Kiosk", ""])
def test_acl_refuses_device_ids_that_could_inject_rules(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid device id"):
        render_acl("test", [bad])


def test_acl_lets_only_the_hub_write_commands() -> None:
    acl = render_acl("test", ["kiosk-01"])
    device_block = acl.split("user kiosk-01\n", 1)[1]
    assert "topic read anxin/v1/test/dev/kiosk-01/cmd/+" in device_block
    assert "write anxin/v1/test/dev/kiosk-01/cmd" not in device_block
    assert "user hub\ntopic readwrite anxin/v1/test/#" in acl


def test_identity_as_username_is_refused_without_client_certificates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="require_certificate"):
        write_config(
            tmp_path, hall="test", secret="s", device_ids=[], use_identity_as_username=True
        )


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership is only changed when run as root")
def test_files_the_broker_reads_after_dropping_root_belong_to_its_user(tmp_path: Path) -> None:
    try:
        broker_uid = pwd.getpwnam("mosquitto").pw_uid
    except KeyError:
        pytest.skip("no mosquitto user on this machine")
    write_config(tmp_path, hall="test", secret="s", device_ids=["kiosk-01"])
    for name in ("passwd", "acl", "certs/server.key", "data"):
        assert (tmp_path / name).stat().st_uid == broker_uid, name
    assert (tmp_path / "ca" / "ca.key").stat().st_uid == 0  # the CA key stays root's
