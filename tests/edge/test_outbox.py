"""The outbox keeps every event until the hub acknowledges it, across crashes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge.durable import DurableDb
from edge.outbox import Outbox

REPO = Path(__file__).resolve().parents[2]


def open_outbox(path: Path, boot_id: str = "boot-b") -> Outbox:
    return Outbox(DurableDb(path), boot_id=boot_id)


def test_events_written_before_a_hard_crash_are_all_there_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    crash = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from edge.durable import DurableDb
        from edge.outbox import Outbox
        box = Outbox(DurableDb(Path({str(path)!r})), boot_id="boot-a")
        for n in range(5):
            box.emit("button", {{"n": n}})
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no atexit: a power cut
        """
    )
    proc = subprocess.run([sys.executable, "-c", crash], cwd=REPO, check=False)
    assert proc.returncode == -9

    box = open_outbox(path)
    pending = box.pending()
    assert [p.seq for p in pending] == [1, 2, 3, 4, 5]
    assert {p.boot_id for p in pending} == {"boot-a"}
    # The next boot carries on numbering: the hub's (boot_id, seq) never repeats.
    assert box.emit("button", {}).seq == 6


def test_acknowledged_events_are_gone_and_others_stay(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "d.sqlite3", "boot-a")
    first, second = box.emit("button", {"b": 1}), box.emit("button", {"b": 2})

    assert box.ack(first.boot_id, first.seq)
    assert not box.ack(first.boot_id, first.seq), "a repeated ack finds nothing"
    assert not box.ack("another-boot", second.seq), "an ack must match the boot too"
    assert [p.seq for p in box.pending()] == [second.seq]


def test_replaying_an_event_id_does_not_add_a_second_entry(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "d.sqlite3")
    original = box.emit("ticket", {"no": "A001"}, event_id="ticket-a001")
    replay = box.emit("ticket", {"no": "A001"}, event_id="ticket-a001")

    assert replay == original
    assert box.depth() == 1


def test_sequence_keeps_rising_after_everything_was_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    box = open_outbox(path, "boot-a")
    for _ in range(3):
        e = box.emit("button", {})
        box.ack(e.boot_id, e.seq)
    assert box.depth() == 0

    assert open_outbox(path, "boot-b").emit("button", {}).seq == 4


def test_stored_body_is_what_gets_resent_byte_for_byte(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "d.sqlite3")
    event = box.emit("button", {"button": "next"})
    (pending,) = box.pending()
    assert pending.body == event.model_dump_json().encode()


def _open_under(folder: Path) -> list[str]:
    """Files under `folder` this process holds open. (Counting every
    descriptor was flaky: other tests' sockets close meanwhile.)"""
    held = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while listing (the listing's own descriptor)
            continue
        if target.startswith(str(folder)):
            held.append(target)
    return held


def test_an_outbox_not_held_open_keeps_no_file_descriptors_at_rest(tmp_path: Path) -> None:
    box = Outbox(DurableDb(tmp_path / "d.sqlite3", hold_open=False), boot_id="boot-a")
    box.emit("button", {})
    box.emit("button", {})

    assert _open_under(tmp_path) == []
    assert [p.seq for p in box.pending()] == [1, 2]
    held = Outbox(DurableDb(tmp_path / "held.sqlite3", hold_open=True), boot_id="boot-b")
    held.emit("button", {})
    assert str(tmp_path / "held.sqlite3") in _open_under(tmp_path)  # the check sees a held file


def test_an_event_name_that_is_not_a_topic_level_is_refused_at_once(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "d.sqlite3")
    with pytest.raises(ValueError, match="invalid event name"):
        box.emit("Button/Next", {})
    assert box.depth() == 0
