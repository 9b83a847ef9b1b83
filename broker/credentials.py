"""Per-user MQTT passwords derived from the hall secret.

Each device (and the hub) has its own user and password, so that the broker
can tell devices apart and the ACL can hold each to its own branch. Deriving
the password with HMAC means the hub can hand a device its credentials
(`anxin broker credentials ID`) without a password table to leak or lose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def mqtt_password(secret: str, user: str) -> str:
    digest = hmac.new(secret.encode(), f"anxin-mqtt:{user}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def check_password(secret: str, user: str, password: str) -> bool:
    return hmac.compare_digest(mqtt_password(secret, user), password)
