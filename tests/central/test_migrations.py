"""`anxin db upgrade` builds the schema the code expects, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import central.auth.models
import central.devices.models
import central.queueing.models  # noqa: F401 - the tables the migrations must match
from central.db import Base, alembic_config, make_engine, upgrade_database
from tests.central.conftest import hub_settings


def test_migrations_build_exactly_the_tables_the_models_describe(
    database_url: str, tmp_path: Path
) -> None:
    settings = hub_settings(database_url=database_url, tmp_path=tmp_path)
    upgrade_database(settings)
    upgrade_database(settings)  # a second run on an up-to-date database changes nothing

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
            assert context.get_current_revision() == head
            tables = set(inspect(connection).get_table_names())
            assert {"users", "devices", "device_events", "device_commands"} <= tables
    finally:
        engine.dispose()


def test_migrations_can_be_undone_and_redone(database_url: str, tmp_path: Path) -> None:
    settings = hub_settings(database_url=database_url, tmp_path=tmp_path)
    upgrade_database(settings)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(database_url)
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "base")
            assert "devices" not in inspect(connection).get_table_names()
        upgrade_database(settings)
        with engine.connect() as connection:
            assert "devices" in inspect(connection).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_runs_with_write_ahead_log_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'hub.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
