"""The `anxin` command as an operator uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from anxin.cli import app
from broker.credentials import mqtt_password

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANXIN_CONFIG", raising=False)
    monkeypatch.delenv("ANXIN_HUB__SECRET_KEY", raising=False)


def test_config_validate_accepts_a_good_file(tmp_path: Path) -> None:
    good = tmp_path / "hall.toml"
    good.write_text('hall = "xian-yanta"\n[mqtt]\nport = 8883\nkeepalive_s = 15\n')
    result = runner.invoke(app, ["config", "validate", str(good)])
    assert result.exit_code == 0
    assert "valid" in result.output


def test_config_validate_names_every_bad_setting(tmp_path: Path) -> None:
    bad = tmp_path / "hall.toml"
    bad.write_text('hall = "Bad Hall"\n[mqtt]\nport = "x"\ncolour = "red"\n')
    result = runner.invoke(app, ["config", "validate", str(bad)])
    assert result.exit_code == 1
    for where in ("hall", "mqtt.port", "mqtt.colour"):
        assert where in result.output


def test_production_refuses_the_development_secret(tmp_path: Path) -> None:
    prod = tmp_path / "hall.toml"
    prod.write_text('environment = "production"\n')
    result = runner.invoke(app, ["config", "validate", str(prod)])
    assert result.exit_code == 1
    assert "secret_key must be set in production" in result.output


def test_broker_credentials_prints_the_derived_device_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANXIN_HUB__SECRET_KEY", "hall-secret")
    result = runner.invoke(app, ["broker", "credentials", "kiosk-01"])
    assert result.exit_code == 0
    assert result.output.strip() == mqtt_password("hall-secret", "kiosk-01")


def test_bench_list_names_the_fleet_benchmark() -> None:
    result = runner.invoke(app, ["bench", "list"])
    assert result.exit_code == 0
    assert result.output.startswith("fleet\t")


def test_docs_check_passes_on_the_committed_mqtt_doc() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "mqtt.md"
    result = runner.invoke(app, ["docs", "mqtt", "--out", str(doc), "--check"])
    assert result.exit_code == 0, result.output


def test_first_admin_gets_a_one_time_password_and_a_second_create_is_refused(
    tmp_path: Path,
) -> None:
    env = {"ANXIN_DATA_DIR": str(tmp_path)}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    first = runner.invoke(app, ["users", "create-admin", "admin"], env=env)
    assert first.exit_code == 0, first.output
    assert "one-time password:" in first.output
    again = runner.invoke(app, ["users", "create-admin", "admin"], env=env)
    assert again.exit_code == 1
    assert "already exists" in again.output
    reset = runner.invoke(app, ["users", "reset-password", "admin"], env=env)
    assert reset.exit_code == 0
    assert reset.output.split()[-1] != first.output.split()[-1]
