"""Importing a hall creates clerk accounts, whose passwords take seconds to
hash; the hall must not stop issuing and calling meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select

from central.auth.models import User
from central.auth.service import authenticate, hash_password
from central.queueing import hallconfig
from central.queueing.hallconfig import import_hall, load_yaml
from central.queueing.models import Channel
from tests.queueing.hall import Hall

CLERKS = 8


def _doc_text() -> str:
    clerks = "\n".join(
        f"  - {{username: clerk{n:02d}, name: 窗口{n}, services: [general]}}" for n in range(CLERKS)
    )
    return f"""
areas:
  - {{code: zonghe, name: 综合窗口区}}
services:
  - {{code: general, name: 综合受理, area: zonghe, prefix: A, hours: 00:00-23:59, avg_minutes: 5}}
  - {{code: newcomer, name: 新业务, area: zonghe, prefix: N, hours: 00:00-23:59, avg_minutes: 5}}
windows:
  - {{number: 1, name: 综合窗口, area: zonghe, services: {{general: 1}}}}
  - {{number: 2, name: 新窗口, area: zonghe, services: {{newcomer: 1}}}}
clerks:
{clerks}
"""


def test_a_hall_import_hashes_passwords_before_it_writes_and_the_hall_keeps_issuing(
    hall: Hall, monkeypatch: Any
) -> None:
    hall.service("general", "A", "综合受理")
    hall.window(1, {"general": 1.0})
    timeline: list[tuple[str, float]] = []
    hashing = threading.Event()

    def slow_hash(password: str) -> str:
        hashing.set()
        out = hash_password(password)
        timeline.append(("hash", time.monotonic()))
        return out

    monkeypatch.setattr(hallconfig, "hash_password", slow_hash)

    def on_sql(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            timeline.append(("write", time.monotonic()))

    def on_commit(_conn: Any) -> None:
        timeline.append(("commit", time.monotonic()))

    importer_done: dict[str, Any] = {}

    def run_import() -> None:
        with hall.sessions() as s:
            conn_events: list[tuple[str, Callable[..., None]]] = [
                ("before_cursor_execute", on_sql),
                ("commit", on_commit),
            ]
            conn = s.connection()  # the import's own connection
            for name, fn in conn_events:
                event.listen(conn, name, fn)
            report = import_hall(s, load_yaml(_doc_text()), replace=False)
            s.commit()
            importer_done["report"] = report

    importer = threading.Thread(target=run_import)
    importer.start()
    assert hashing.wait(10)
    # While the import hashes, a citizen takes a ticket: not held up by it.
    t0 = time.monotonic()
    ticket = hall.issue("general", channel=Channel.KIOSK)
    issued_in = time.monotonic() - t0
    importer.join(60)
    assert not importer.is_alive()

    assert ticket.number == "A001"
    assert issued_in < 1.0, f"issuing waited {issued_in:.1f} s for the import"
    report = importer_done["report"]
    assert report.ok, report.problems
    assert len(report.passwords) == CLERKS
    hashes = [at for what, at in timeline if what == "hash"]
    writes = [at for what, at in timeline if what == "write"]
    commit = next(at for what, at in timeline if what == "commit")
    assert len(hashes) == CLERKS
    assert writes
    assert min(writes) > max(hashes), "a password was hashed after the first write"
    assert commit - min(writes) < 1.0, "the import held its write transaction too long"

    with hall.sessions() as s:
        for username, password in report.passwords.items():
            assert authenticate(s, username=username, password=password) is not None
        users = set(s.scalars(select(User.username).where(User.username.like("clerk%"))))
    assert users == {f"clerk{n:02d}" for n in range(CLERKS)}


def test_importing_the_same_clerks_again_hashes_nothing(hall: Hall, monkeypatch: Any) -> None:
    with hall.sessions() as s:
        assert import_hall(s, load_yaml(_doc_text()), replace=False).ok
        s.commit()
    calls: list[str] = []

    def counting(password: str) -> str:
        calls.append(password)
        return password

    monkeypatch.setattr(hallconfig, "hash_password", counting)
    with hall.sessions() as s:
        report = import_hall(s, load_yaml(_doc_text()), replace=False)
        s.commit()
    assert report.ok
    assert report.passwords == {}
    assert calls == []
