"""Device documents are replaced whole: a crash mid-write keeps the old one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tinydb import TinyDB

from broker.contract import DeviceConfig
from edge.docstore import AtomicJSONStorage, ConfigStore


def test_a_write_replaces_the_file_instead_of_rewriting_it(tmp_path: Path) -> None:
    path = tmp_path / "docs.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.insert({"a": 1})
    inode = path.stat().st_ino

    db.insert({"b": 2})

    assert path.stat().st_ino != inode
    assert [dict(d) for d in TinyDB(path, storage=AtomicJSONStorage).all()] == [
        {"a": 1},
        {"b": 2},
    ]


def test_a_crash_before_the_rename_leaves_the_previous_document_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "docs.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.insert({"a": 1})
    before = path.read_bytes()

    def power_cut(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        db.insert({"b": 2})
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs.json"], "no temp file left"


def test_a_leftover_temp_file_from_a_crash_is_cleaned_up_on_open(tmp_path: Path) -> None:
    path = tmp_path / "docs.json"
    TinyDB(path, storage=AtomicJSONStorage).insert({"a": 1})
    leftover = tmp_path / ".docs.json.abc123.tmp"
    leftover.write_bytes(b'{"half": ')

    db = TinyDB(path, storage=AtomicJSONStorage)

    assert not leftover.exists()
    assert [dict(d) for d in db.all()] == [{"a": 1}]


def test_config_store_keeps_the_newest_version_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "documents.json"
    store = ConfigStore(path)
    assert store.offer(DeviceConfig(config_version=2, settings={"window": 3}))
    assert not store.offer(DeviceConfig(config_version=1, settings={"window": 9}))
    assert not store.offer(DeviceConfig(config_version=2, settings={"window": 9}))

    latest = ConfigStore(path).latest()
    assert latest is not None
    assert (latest.config_version, latest.settings) == (2, {"window": 3})
