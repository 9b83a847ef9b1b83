"""The playbooks pass ansible-lint's production profile and Ansible's syntax check."""

from __future__ import annotations

import subprocess

import pytest

from tests.deploy.conftest import ANSIBLE, DEMO, ansible_env, tool

PLAYBOOKS = ["site.yml", "update.yml", "rollback.yml", "rotate.yml"]


def test_ansible_lint_production_profile_passes() -> None:
    proc = subprocess.run(
        [tool("ansible-lint"), "--profile", "production", "--offline"],
        cwd=ANSIBLE, env=ansible_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_playbook_syntax_is_valid(name: str) -> None:
    proc = subprocess.run(
        [tool("ansible-playbook"), "-i", str(DEMO), "--syntax-check", name],
        cwd=ANSIBLE, env=ansible_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_device_of_the_demo_inventory_has_a_kind_and_valid_hardware() -> None:
    from anxin.deploy.inventory import load_inventory

    inv = load_inventory(DEMO)
    kinds = sorted(d.kind.value for d in inv.devices)
    assert kinds.count("kiosk") == 3
    assert kinds.count("caller") == 4
    assert kinds.count("display") == 2
    assert kinds.count("signlang") == 1
    assert list(inv.hub) == ["hub"]
    assert list(inv.broker) == ["broker"]
    assert {d.window for d in inv.devices if d.kind.value == "caller"} == {1, 2, 3, 4}
