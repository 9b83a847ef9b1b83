"""Inventory export and import through the real device registry (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from anxin.cli import app
from anxin.deploy.inventory import (
    InventoryInvalid,
    export_inventory,
    import_inventory,
    load_inventory,
    parse_inventory,
    render_inventory,
)
from anxin.settings import Settings, load_settings
from central.db import database_url, make_engine, make_sessionmaker
from central.devices import service
from tests.deploy.conftest import DEMO


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(None, data_dir=tmp_path / "var", hall="demo")


def registry(settings: Settings) -> dict[str, tuple[str, dict[str, object], bool]]:
    engine = make_engine(database_url(settings))
    try:
        with make_sessionmaker(engine)() as session:
            return {
                d.id: (d.kind, dict(d.settings or {}), d.retired)
                for d in service.list_devices(session)
            }
    finally:
        engine.dispose()


def test_import_registers_every_device_with_its_kind_and_caller_window(
    settings: Settings,
) -> None:
    report = import_inventory(settings, load_inventory(DEMO))
    assert report.ok, report.problems
    assert len(report.created) == 10
    devices = registry(settings)
    assert devices["kiosk-01"][0] == "kiosk"
    assert devices["board-02"][0] == "display"
    assert devices["caller-03"] == ("caller", {"window": 3}, False)
    # The transfer button's target goes into the registry with the window.
    assert devices["caller-01"] == ("caller", {"window": 1, "transfer_to": "tax_invoice"}, False)
    # A second import changes nothing.
    again = import_inventory(settings, load_inventory(DEMO))
    assert again.created == []
    assert again.updated == []
    assert len(again.unchanged) == 10


def test_export_then_import_round_trips_devices_windows_and_hardware(
    settings: Settings, tmp_path: Path
) -> None:
    demo = load_inventory(DEMO)
    import_inventory(settings, demo)
    exported = export_inventory(settings, demo)
    assert exported.notes == []
    text = render_inventory(exported.inventory)
    back = parse_inventory(text)
    assert back.devices == demo.devices
    assert back.hub == demo.hub
    assert back.broker == demo.broker
    # Into a second, empty registry: the same devices come out.
    other = load_settings(None, data_dir=tmp_path / "other", hall="demo")
    assert import_inventory(other, back).ok
    assert registry(other) == registry(settings)


def test_export_shows_a_window_an_admin_changed_in_the_registry(settings: Settings) -> None:
    demo = load_inventory(DEMO)
    import_inventory(settings, demo)
    engine = make_engine(database_url(settings))
    with make_sessionmaker(engine)() as session:
        service.update_settings(
            session, device_id="caller-02", values={"window": 7, "transfer_to": "pension"}
        )
        service.retire(session, device_id="kiosk-03")
        session.commit()
    engine.dispose()
    result = export_inventory(settings, demo)
    exported = {d.id: d for d in result.inventory.devices}
    assert exported["caller-02"].window == 7
    assert exported["caller-02"].transfer_to == "pension"
    assert "kiosk-03" not in exported
    assert any("kiosk-03" in note and "retired" in note for note in result.notes)


def test_import_with_a_kind_that_contradicts_the_registry_imports_nothing(
    settings: Settings,
) -> None:
    import_inventory(settings, parse_inventory(
        "all:\n  vars: {anxin_hall: demo}\n  children:\n    anxin_devices:\n      hosts:\n"
        "        kiosk-01: {anxin_device_kind: display}\n"
    ))  # fmt: skip
    report = import_inventory(settings, load_inventory(DEMO))
    assert not report.ok
    assert any("kiosk-01" in p for p in report.problems)
    assert set(registry(settings)) == {"kiosk-01"}


def test_an_inventory_with_wrong_hardware_names_the_device() -> None:
    text = (
        "all:\n  vars: {anxin_hall: demo}\n  children:\n    anxin_devices:\n      hosts:\n"
        "        kiosk-09:\n          anxin_device_kind: kiosk\n"
        "          anxin_device_ports: {printer: {kind: escpos, transport: usb}}\n"
    )
    with pytest.raises(InventoryInvalid) as caught:
        parse_inventory(text)
    assert "kiosk-09" in str(caught.value)
    assert "usb_vendor" in str(caught.value)


def test_cli_import_and_export(settings: Settings, tmp_path: Path) -> None:
    env = {"ANXIN_DATA_DIR": str(settings.data_dir), "ANXIN_HALL": "demo"}
    runner = CliRunner()
    done = runner.invoke(app, ["deploy", "inventory-import", str(DEMO)], env=env)
    assert done.exit_code == 0, done.output
    assert "10 registered" in done.output
    out = tmp_path / "exported.yml"
    done = runner.invoke(
        app, ["deploy", "inventory-export", str(out), "--base", str(DEMO)], env=env
    )
    assert done.exit_code == 0, done.output
    assert load_inventory(out).devices == load_inventory(DEMO).devices
