"""The roles' templates rendered for the demo hall: the settings load as the
hub and each device would load them, and the backup script backs up and
restores a real hub database."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from anxin.deploy.inventory import load_inventory, parse_inventory
from anxin.settings import load_settings
from central.db import upgrade_database
from tests.deploy.conftest import DEMO, playbook


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("render")
    played = playbook(
        "../tests/deploy/playbooks/render.yml",
        {
            "render_out": str(base / "out"),
            "anxin_secrets_dir": str(base / "secrets"),
            "anxin_database": "sqlite",
            "hub_data_dir": str(base / "hub-data"),
            "hub_backup_dir": str(base / "backups"),
            "hub_backup_keep": 2,
        },
    )
    assert played.returncode == 0, played.output
    return base


@pytest.mark.timeout(300)
def test_hub_settings_load_in_production_with_the_hall_secrets(rendered: Path) -> None:
    s = load_settings(rendered / "out" / "hub" / "hub.toml")
    secrets = rendered / "secrets"
    assert s.environment == "production"
    assert s.hall == "demo"
    assert s.hub.secret_key.get_secret_value() == (secrets / "hall_secret").read_text().strip()
    assert s.mqtt.username == "hub"
    assert s.mqtt.password is not None
    assert s.mqtt.password.get_secret_value() == (secrets / "mqtt" / "hub").read_text()
    assert s.hub.public_url == "https://hub.demo.anxin.lan"
    assert s.hub.cookie_secure
    # The broker is another host: TLS with the hub's own certificate.
    assert s.mqtt.port == 8883
    assert str(s.mqtt.key_file).startswith("/run/credentials/anxin-hub.service/")


@pytest.mark.timeout(300)
def test_each_device_gets_its_own_credentials_and_hardware(rendered: Path) -> None:
    demo = load_inventory(DEMO)
    for device in demo.devices:
        s = load_settings(rendered / "out" / device.id / "device.toml")
        assert s.device.id == device.id
        assert s.device.kind == device.kind
        assert s.mqtt.username == device.id
        assert s.mqtt.password is not None
        password = (rendered / "secrets" / "mqtt" / device.id).read_text()
        assert s.mqtt.password.get_secret_value() == password
        hall_secret = (rendered / "secrets" / "hall_secret").read_text().strip()
        assert hall_secret not in (rendered / "out" / device.id / "device.toml").read_text()
        assert s.device.ports.model_dump(exclude_unset=True).keys() == device.ports.keys()
    kiosk = load_settings(rendered / "out" / "kiosk-01" / "device.toml")
    assert kiosk.device.ports.printer.kind == "escpos"
    caller = load_settings(rendered / "out" / "caller-02" / "device.toml")
    assert caller.device.ports.buttons.kind == "gpio"


@pytest.mark.timeout(300)
def test_the_hub_registers_the_inventory_devices_file(rendered: Path) -> None:
    text = (rendered / "out" / "hub" / "devices.yml").read_text()
    assert parse_inventory(text).devices == [
        d.model_copy(update={"host": None, "vars": {}}) for d in load_inventory(DEMO).devices
    ]


@pytest.mark.timeout(300)
def test_backup_restores_the_hub_database(rendered: Path) -> None:
    data = rendered / "hub-data"
    settings = load_settings(None, data_dir=data, hall="demo")
    upgrade_database(settings)
    db = data / "hub.sqlite3"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE marker (v TEXT)")
        con.execute("INSERT INTO marker VALUES ('before')")
    script = str(rendered / "out" / "hub" / "anxin-backup")
    done = subprocess.run([script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "restored and checked" in done.stdout
    (backup,) = (rendered / "backups").glob("hub-*.sqlite3.gz")
    with sqlite3.connect(db) as con:
        con.execute("UPDATE marker SET v = 'after'")
    done = subprocess.run(
        [script, "--restore", str(backup)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT v FROM marker").fetchone() == ("before",)
    # A file that is not a hub database is refused, and the database stays.
    bogus = rendered / "bogus.sqlite3.gz"
    bogus.write_bytes(b"\x1f\x8b not really")
    done = subprocess.run(
        [script, "--restore", str(bogus)], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT v FROM marker").fetchone() == ("before",)
