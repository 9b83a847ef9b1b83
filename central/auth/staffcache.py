"""Who a signed-in request acts for, without a database read per request.

The queue routes run thousands of times an hour per window; reading the
user's row for each of them cost more than the verb's own work. `StaffCache`
keeps a small frozen `Staff` snapshot per (user id, session epoch) for
`TTL_S` seconds of monotonic time. The price is bounded and stated: a user
deactivated, or whose password was changed (which bumps ``auth_epoch`` and
so ends other sessions), can go on acting through the queue API for at most
`TTL_S` seconds in each hub worker. Pages and every other route still read the
user's row each time (`central.deps.signed_in_user`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from central.auth.models import Role, User

TTL_S: Final = 2.0
MAX_ENTRIES: Final = 4096  # far more staff than any hall; a bound against misuse


@dataclass(frozen=True)
class Staff:
    """The parts of a `User` a queue route needs."""

    id: int
    role: Role
    username: str
    display_name: str | None
    must_change_password: bool

    @property
    def role_enum(self) -> Role:
        return self.role


_ROW = select(
    User.role, User.username, User.display_name, User.active,
    User.must_change_password, User.auth_epoch,
).where(User.id == bindparam("uid"))  # fmt: skip


@dataclass
class StaffCache:
    sessions: sessionmaker[Session]
    ttl_s: float = TTL_S
    _entries: dict[tuple[int, int], tuple[float, Staff | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self, uid: int, epoch: int) -> tuple[bool, Staff | None]:
        """(hit, staff): on a hit, staff is None when the session is no longer valid."""
        with self._lock:
            entry = self._entries.get((uid, epoch))
        if entry is None or time.monotonic() - entry[0] > self.ttl_s:
            return False, None
        return True, entry[1]

    def load(self, uid: int, epoch: int) -> Staff | None:
        """Read the user's row (blocking: call from a worker thread) and remember it."""
        with self.sessions() as session:
            row = session.execute(_ROW, {"uid": uid}).first()
        staff = None
        if row is not None and row.active and row.auth_epoch == epoch:
            staff = Staff(uid, Role(row.role), row.username, row.display_name,
                          row.must_change_password)  # fmt: skip
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[(uid, epoch)] = (time.monotonic(), staff)
        return staff
