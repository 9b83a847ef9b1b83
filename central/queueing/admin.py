"""What the `anxin hall` and `anxin audit` commands do, on a short-lived engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.db import database_url, make_engine, make_sessionmaker, upgrade_database
from central.queueing.fairness import ChainReport, verify_chain
from central.queueing.hallconfig import (
    HallDocInvalid,
    ImportReport,
    dump_yaml,
    export_hall,
    import_hall,
    load_yaml,
)


@contextmanager
def cli_session(settings: Settings) -> Iterator[Session]:
    """A session on an up-to-date schema, its engine disposed afterwards."""
    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


def import_file(settings: Settings, path: Path, *, replace: bool) -> ImportReport:
    """Import a YAML file; a document that does not parse is reported like any problem."""
    try:
        doc = load_yaml(path.read_bytes())
    except HallDocInvalid as exc:
        return ImportReport(problems=exc.problems)
    with cli_session(settings) as session:
        report = import_hall(session, doc, replace=replace)
        if report.ok:
            session.commit()
        return report


def export_text(settings: Settings) -> str:
    with cli_session(settings) as session:
        return dump_yaml(export_hall(session))


def verify(settings: Settings) -> ChainReport:
    with cli_session(settings) as session:
        return verify_chain(session)
