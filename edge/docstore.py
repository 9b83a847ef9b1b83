"""Device-local documents in TinyDB, written so that a power cut never leaves
half a file: each write goes to a temporary file that is fsynced and then
renamed over the old one (``os.replace`` is atomic on POSIX), and the
directory is fsynced so the rename itself survives.

The device's cached `DeviceConfig` lives here, so a device that boots without
the hub still knows its last configuration.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Final

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

from broker.contract import DeviceConfig

_TMP_SUFFIX: Final = ".tmp"


class AtomicJSONStorage(Storage):
    """A TinyDB storage whose file is only ever replaced whole."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A crash between writing and renaming leaves a temp file: the old
        # document is still whole, so the leftover is just removed.
        for stale in self.path.parent.glob(f".{self.path.name}.*{_TMP_SUFFIX}"):
            stale.unlink(missing_ok=True)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if not raw:
            return None
        data: dict[str, dict[str, Any]] = json.loads(raw)
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raw = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=_TMP_SUFFIX
        )
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)

    def close(self) -> None:
        pass


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ConfigStore:
    """The latest `DeviceConfig` the hub sent, kept across reboots."""

    _TABLE: Final = "config"
    _DOC_ID: Final = 1

    def __init__(self, path: Path) -> None:
        self._db = TinyDB(path, storage=AtomicJSONStorage)

    def close(self) -> None:
        self._db.close()

    def latest(self) -> DeviceConfig | None:
        doc = self._db.table(self._TABLE).get(doc_id=self._DOC_ID)
        if doc is None:
            return None
        return DeviceConfig.model_validate(dict(doc))

    def offer(self, config: DeviceConfig) -> bool:
        """Store `config` when it is newer than the stored one; True if stored."""
        current = self.latest()
        if current is not None and config.config_version <= current.config_version:
            return False
        # One upsert is one file replacement: never a moment with no config.
        self._db.table(self._TABLE).upsert(
            Document(config.model_dump(mode="json"), doc_id=self._DOC_ID)
        )
        return True
