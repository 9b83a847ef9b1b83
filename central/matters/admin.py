"""What the `anxin matters` commands do, on a short-lived engine.

The hub need not run: publishing bumps the library revision in the database
and a running hub republishes the manifest within a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import select

from anxin.settings import Settings
from central.matters import excel, service
from central.matters.completeness import Report, check_library
from central.queueing.admin import cli_session
from central.queueing.models import Service

CLI_AUTHOR = "cli"


def read_library(path: Path, progress: Callable[[int], None] | None = None) -> service.Library:
    """Raises `excel.LibraryFileInvalid` with every problem."""
    return excel.load(path.name, path.read_bytes(), progress)


def import_library(
    settings: Settings, library: service.Library, *, reason: str, publish: bool,
    progress: Callable[[int], None] | None = None,
) -> service.ImportResult:  # fmt: skip
    with cli_session(settings) as session:
        result = service.import_library(session, library, author=CLI_AUTHOR, reason=reason,
                                        publish=publish, progress=progress)  # fmt: skip
        if result.ok:
            session.commit()
        return result


def export_library(settings: Settings, path: Path) -> int:
    """Write the library (every matter's newest version); the number of matters."""
    with cli_session(settings) as session:
        library = service.draft_library(session)
    path.write_bytes(excel.dump(path.name, library))
    return len(library.matters)


def check(settings: Settings) -> Report:
    with cli_session(settings) as session:
        codes = list(session.scalars(select(Service.code).where(Service.active)))
        return check_library(service.draft_library(session), service_codes=codes or None)


def publish(settings: Settings, keys: Sequence[str], *, everything: bool) -> list[str]:
    """Publish the named matters (or all drafts); the keys published. Raises
    `service.MatterNotFound` for an unknown key, publishing nothing."""
    with cli_session(settings) as session:
        if everything:
            done = service.publish_all(session, author=CLI_AUTHOR)
        else:
            pending = set(service.unpublished(session))
            done = []
            for key in keys:
                service.publish(session, key, author=CLI_AUTHOR)
                if key in pending:
                    done.append(key)
        session.commit()
        return done


def seed_demo(settings: Settings) -> int:
    """Import and publish the demo library (demo_library.json) into an empty
    library; the number of matters imported (0 when there were some already)."""
    from importlib import resources

    with cli_session(settings) as session:
        if service.draft_library(session).matters:
            return 0
    text = (resources.files("central.matters") / "demo_library.json").read_text("utf-8")
    library = service.Library.model_validate_json(text)
    result = import_library(settings, library, reason="演示数据（make demo）", publish=True)
    if not result.ok:
        raise RuntimeError(f"the demo library does not import: {result.problems[:3]}")
    return len(library.matters)
