"""Helpers for the deployment tests: run Ansible from the venv on this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = ROOT / "ansible"
DEMO = ANSIBLE / "inventories" / "demo" / "hosts.yml"
PLAYBOOKS = Path(__file__).parent / "playbooks"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[deploy]')")
    return str(path)


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ANSIBLE / "ansible.cfg"),
        ANSIBLE_ROLES_PATH=str(ANSIBLE / "roles"),
        ANSIBLE_FILTER_PLUGINS=str(ANSIBLE / "plugins" / "filter"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_HOST_KEY_CHECKING="0",
        ANSIBLE_LOCAL_TEMP="/tmp/anxin-ansible-local",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


@dataclass
class Played:
    returncode: int
    output: str


def playbook(name: str, extra: dict[str, Any], *args: str, limit: str | None = None) -> Played:
    """Run a playbook against the demo inventory with every host on this machine."""
    import json

    local = {
        "ansible_connection": "local",
        "ansible_python_interpreter": shutil.which("python3", path="/usr/bin") or sys.executable,
        "secrets_anxin": str(BIN / "anxin"),
        "broker_anxin": str(BIN / "anxin"),
        **extra,
    }
    argv = [tool("ansible-playbook"), "-i", str(DEMO), name, "-e", json.dumps(local), *args]
    if limit:
        argv += ["--limit", limit]
    proc = subprocess.run(
        argv, cwd=ANSIBLE, env=ansible_env(), capture_output=True, text=True, timeout=600
    )
    return Played(proc.returncode, proc.stdout + proc.stderr)
