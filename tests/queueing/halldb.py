"""A migrated database session for the hall configuration, audit and report tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.db import database_url as settings_url
from central.db import make_engine, make_sessionmaker, upgrade_database
from tests.central.conftest import hub_settings


@contextmanager
def migrated_session(database_url: str, tmp_path: Path) -> Iterator[tuple[Session, Settings]]:
    settings = hub_settings(database_url=database_url, tmp_path=tmp_path)
    upgrade_database(settings)
    engine = make_engine(settings_url(settings))
    try:
        with make_sessionmaker(engine)() as session:
            yield session, settings
    finally:
        engine.dispose()
