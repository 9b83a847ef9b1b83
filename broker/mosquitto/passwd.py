"""Mosquitto 2.x password files, written without ``mosquitto_passwd``.

The line format of Mosquitto 2.0 (checked against 2.0.11 by the tests) is
``user:$7$<iterations>$<base64 salt>$<base64 hash>``: PBKDF2-HMAC-SHA512 over
the raw 12-byte salt, 64 bytes of output, standard base64 with padding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from broker.credentials import mqtt_password
from broker.mosquitto.certs import write_private

# Mosquitto's own default. The passwords are HMAC-derived with ~190 bits of
# entropy, so more iterations would not slow a cracker down meaningfully but
# would slow every reconnect of a whole hall after a broker restart.
DEFAULT_ITERATIONS: Final = 101
_SALT_BYTES: Final = 12
_HASH_BYTES: Final = 64


def hash_password(
    password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    """The ``$7$...`` hash Mosquitto stores for `password`."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _HASH_BYTES)
    return f"$7${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(encoded: str, password: str) -> bool:
    """True when `password` matches a ``$7$`` hash (as Mosquitto would decide)."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != "7":
        return False
    iterations, salt, expected = int(parts[2]), base64.b64decode(parts[3]), parts[4]
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _HASH_BYTES)
    return hmac.compare_digest(_b64(digest), expected)


def render_password_file(secret: str, users: Iterable[str]) -> str:
    """One line per user, each with its password derived from the hall secret."""
    lines = []
    for user in dict.fromkeys(users):
        if not user or ":" in user or "\n" in user:
            raise ValueError(f"invalid MQTT user {user!r}")
        lines.append(f"{user}:{hash_password(mqtt_password(secret, user))}\n")
    return "".join(lines)


def write_password_file(path: Path, secret: str, users: Iterable[str]) -> Path:
    """Write the password file (mode 0600: the hashes must not leak)."""
    write_private(path, render_password_file(secret, users).encode())
    return path


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
