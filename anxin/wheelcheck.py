"""Run from an installed wheel (`python -m anxin.wheelcheck`, not from the
repository): imports every module of every package and exercises the files
that are not Python (templates, migrations, static files), which an editable
install would hide if the wheel forgot them."""

from __future__ import annotations

import importlib
import pkgutil
import tempfile
from pathlib import Path

PACKAGES = (
    "anxin",
    "broker",
    "edge",
    "central",
    "kiosk_ui",
    "display",
    "printer",
    "signlang_terminal",
    "bench",
)
# Modules that need hardware libraries absent from a hub install.
OPTIONAL_PREFIXES = ("edge.ports.gpio", "printer.", "kiosk_ui.", "signlang_terminal.")


def import_everything() -> list[str]:
    imported = []
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        file = pkg.__file__ or ""
        if "site-packages" not in file:
            raise SystemExit(f"{name} imported from {file}, not from the installed wheel")
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{name}."):
            try:
                importlib.import_module(info.name)
            except ImportError as exc:
                if info.name.startswith(OPTIONAL_PREFIXES):
                    continue
                raise SystemExit(f"cannot import {info.name}: {exc}") from exc
            imported.append(info.name)
    return imported


def exercise_data_files() -> None:
    from anxin.settings import load_settings
    from central.app import create_app
    from central.db import upgrade_database

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp))
        upgrade_database(settings)  # the Alembic scripts shipped in the wheel
        from fastapi.testclient import TestClient

        with TestClient(create_app(settings)) as client:
            page = client.get("/login")
            if page.status_code != 200 or "登录" not in page.text:
                raise SystemExit(f"login page broken from the wheel: {page.status_code}")
            js = client.get("/static/vendor/htmx.min.js")
            if js.status_code != 200:
                raise SystemExit("vendored htmx is missing from the wheel")


def main() -> None:
    modules = import_everything()
    exercise_data_files()
    print(f"wheel check: {len(modules)} modules imported; migrations, templates, static ok")


if __name__ == "__main__":
    main()
