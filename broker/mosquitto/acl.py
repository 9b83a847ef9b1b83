"""The Mosquitto ACL file, rendered from `broker.contract.acl_rules`.

One ``user`` block per MQTT user: the hub and every registered device. Since
the rules come from the contract, Mosquitto and the embedded broker enforce
the same thing. A user without a block (an unregistered device with a valid
password, should one exist) gets no access at all: Mosquitto denies by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from broker.contract import HUB_USER, Topics, acl_rules

_DEVICE_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def check_device_ids(device_ids: Iterable[str]) -> list[str]:
    """Valid, distinct device ids in order, or ValueError.

    Checked because an id ends up verbatim in the ACL and password files: a
    space or newline would inject rules, and ``hub`` would claim the hub's rights.
    """
    ids = list(dict.fromkeys(device_ids))
    for device_id in ids:
        if device_id == HUB_USER or not _DEVICE_RE.fullmatch(device_id):
            raise ValueError(f"invalid device id {device_id!r}")
    return ids


def render_acl(hall: str, device_ids: Iterable[str]) -> str:
    topics = Topics(hall)
    blocks = [f"# Anxin Hall ACL for hall {hall}; generated from broker.contract.acl_rules.\n"]
    for user in [HUB_USER, *check_device_ids(device_ids)]:
        rules = "".join(f"topic {r.access} {r.topic}\n" for r in acl_rules(topics, user))
        blocks.append(f"\nuser {user}\n{rules}")
    return "".join(blocks)


def write_acl_file(path: Path, hall: str, device_ids: Iterable[str]) -> Path:
    path.write_text(render_acl(hall, device_ids))
    return path
