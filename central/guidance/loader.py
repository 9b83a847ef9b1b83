"""The published matter library and its search index, cached per revision.

`central.matters.service.revision` is one small read that changes whenever
anything is published, so a request costs that read while the library stays
the same, and the first request after a publication loads the library and
builds (or reuses, by content hash) its index. The cache is kept per database
engine: one process may serve several hubs (tests do), and their revision
numbers mean nothing to each other.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.guidance.search import GuideIndex, index_for
from central.matters.schema import Library
from central.matters.service import published_library, revision


@dataclass(frozen=True)
class Loaded:
    revision: int
    library: Library
    index: GuideIndex


class GuideLoader:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: weakref.WeakKeyDictionary[Engine, Loaded] = weakref.WeakKeyDictionary()

    def get(self, session: Session) -> Loaded:
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        number = revision(session)
        current = self._current.get(engine)
        if current is not None and current.revision == number:
            return current
        with self._lock:
            current = self._current.get(engine)
            if current is not None and current.revision == number:
                return current
            library = published_library(session)
            loaded = Loaded(number, library, index_for(library))
            self._current[engine] = loaded
            return loaded

    def invalidate(self) -> None:
        with self._lock:
            self._current.clear()


LOADER = GuideLoader()
"""The process's loader (each hub worker process has its own)."""
