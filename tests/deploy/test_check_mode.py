"""The hub and device roles applied for real, in check mode, to this machine.

Every host of the demo inventory is this machine (local connection), with
the roles' paths moved into a temporary folder. Check mode changes nothing;
the diff shows what each role would write.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.conftest import playbook


@pytest.mark.timeout(600)
def test_hub_and_device_roles_run_in_check_mode(tmp_path: Path) -> None:
    root = tmp_path / "target"
    extra = {
        "anxin_secrets_dir": str(tmp_path / "secrets"),
        "anxin_wheel": str(tmp_path / "anxin_hall-9.9.9-py3-none-any.whl"),
        "anxin_pip_index_url": "",
        "hub_root": str(root / "opt"), "device_root": str(root / "opt"),
        "hub_config_dir": str(root / "etc"), "device_config_dir": str(root / "etc"),
        "hub_credentials_dir": str(root / "etc/credentials"),
        "device_credentials_dir": str(root / "etc/credentials"),
        "hub_data_dir": str(root / "var/hub"), "device_data_dir": str(root / "var/device"),
        "hub_backup_dir": str(root / "backups"), "hub_bin_dir": str(root / "bin"),
        "hub_unit_dir": str(root / "units"), "device_unit_dir": str(root / "units"),
        "device_udev_dir": str(root / "udev"), "hub_tls_dir": str(root / "tls"),
        "hub_nginx_site": str(root / "nginx/anxin"), "hub_nginx_enabled": str(root / "nginx/on"),
        "anxin_database": "sqlite",
    }  # fmt: skip
    (tmp_path / "anxin_hall-9.9.9-py3-none-any.whl").write_bytes(b"")
    played = playbook(
        "../tests/deploy/playbooks/check_roles.yml", extra, "--check", "--diff",
        limit="localhost:hub:kiosk-01:caller-01:board-01:signlang-01",
    )  # fmt: skip
    out = played.output
    assert played.returncode == 0, out
    recap = out.split("PLAY RECAP")[-1]
    assert re.findall(r"failed=(\d+)", recap) == ["0"] * 6, recap
    # What the hub would run: migrations before start, secrets as credentials.
    assert f"LoadCredential=hub.toml:{root}/etc/credentials/hub.toml" in out
    assert "db upgrade" in out
    assert "OnCalendar=*-*-* 02:30:00" in out
    assert "proxy_set_header Upgrade $http_upgrade;" in out
    # Devices: the agent of their kind; kiosks and boards full screen on a tty.
    assert "device kiosk --id kiosk-01 --ui --fullscreen" in out
    assert "device display --id board-01 --ui --fullscreen" in out
    assert re.search(r"device caller --id caller-01\n", out)
    assert "TTYPath=/dev/tty1" in out
    assert "Restart=always" in out
    assert "WatchdogSec=30" in out  # a hung agent (no WATCHDOG=1 ping) is restarted
    assert 'ATTR{idVendor}=="0416"' in out
    # Nothing was written to the target paths.
    assert not root.exists()
