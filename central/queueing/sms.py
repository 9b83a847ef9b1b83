"""SMS gateways: the port the notification worker sends through, and two
development adapters.

`SmsGateway.send(to, body, key)` returns when the message is accepted and
raises on any failure. ``key`` is the notification's idempotency key: a
gateway must treat a second send with the same key as already done. That is
what makes "never twice" hold when the hub dies between a successful send
and marking the row sent: the row is sent again after its lease, and the
gateway drops the repeat. Real SMS providers take such a key (a client
reference / ``outId``) for exactly this; the adapters here do the same.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Final, Protocol, TextIO

from broker.contract import utcnow

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"


class SmsGateway(Protocol):
    def send(self, to: str, body: str, key: str) -> None:
        """Deliver or raise; a repeated `key` must not deliver again."""
        ...


class GatewayError(Exception):
    """The gateway refused or could not be reached; the worker retries."""


class FileGateway:
    """Appends one JSON line per message to a file (development, demos, audits).

    Keyed under an exclusive file lock, so two workers (or two hub processes)
    sending the same notification write it once.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] = set()
        self._read_upto = 0

    def send(self, to: str, body: str, key: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                self._catch_up(f)
                if key in self._seen:
                    return
                line = {"key": key, "to": to, "body": body, "at": utcnow().isoformat()}
                f.seek(0, os.SEEK_END)
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
                self._read_upto = f.tell()
                self._seen.add(key)
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _catch_up(self, f: TextIO) -> None:
        # Lines other processes appended since we last looked.
        f.seek(self._read_upto)
        while line := f.readline():
            with contextlib.suppress(ValueError, AttributeError):
                self._seen.add(str(json.loads(line)["key"]))
        self._read_upto = f.tell()

    def sent(self) -> list[dict[str, str]]:
        """Everything in the file (tests and the demo read it)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


class HttpGateway:
    """POSTs ``{"to", "body", "key"}`` as JSON with the key in ``Idempotency-Key``.

    Any 2xx is success; 409 means the provider already has this key, which is
    success too. Everything else raises `GatewayError`.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"SMS gateway URL must be http(s): {url!r}")
        self.url = url
        self._token = token
        self._timeout_s = timeout_s

    def send(self, to: str, body: str, key: str) -> None:
        data = json.dumps({"to": to, "body": body, "key": key}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")  # noqa: S310 - scheme checked above
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            if exc.code == 409:
                return
            raise GatewayError(f"SMS gateway answered {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise GatewayError(f"SMS gateway unreachable: {exc}") from None
        if not 200 <= status < 300:
            raise GatewayError(f"SMS gateway answered {status}")
