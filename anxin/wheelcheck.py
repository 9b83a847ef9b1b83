"""Run from an installed wheel (`python -m anxin.wheelcheck`, not from the
repository): imports every module of every package and exercises the files
that are not Python (templates, migrations, static files), which an editable
install would hide if the wheel forgot them."""

from __future__ import annotations

import importlib
import os
import pkgutil
import tempfile
from pathlib import Path

# Importing Kivy (kiosk_ui) must neither take over logging nor read argv or ~/.kivy.
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="anxin-wheelcheck-kivy-"))

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
    "uikit",
)


def import_everything() -> list[str]:
    imported = []
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        file = pkg.__file__ or ""
        if "site-packages" not in file:
            raise SystemExit(f"{name} imported from {file}, not from the installed wheel")
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{name}."):
            if info.name.endswith(".__main__"):
                continue  # running it would start the program
            try:
                importlib.import_module(info.name)
            except ImportError as exc:
                raise SystemExit(f"cannot import {info.name}: {exc}") from exc
            imported.append(info.name)
    return imported


def exercise_data_files() -> None:
    """Migrate a fresh database and serve the login page and htmx over HTTP."""
    import asyncio
    import urllib.request

    from anxin.settings import load_settings
    from central.db import upgrade_database
    from central.server import run_hub

    def fetch(url: str) -> tuple[int, str]:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status), response.read().decode()

    async def check(settings_dir: Path) -> None:
        # The broker is absent on purpose: the hub must serve pages without it.
        settings = load_settings(data_dir=settings_dir, hub={"port": 0}, mqtt={"port": 1})
        upgrade_database(settings)  # the Alembic scripts shipped in the wheel
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        hub = asyncio.create_task(run_hub(settings, ready=ready.set_result))
        try:
            url = await asyncio.wait_for(ready, 30)
            status, page = await asyncio.to_thread(fetch, f"{url}/login")
            if status != 200 or "登录" not in page:
                raise SystemExit(f"login page broken from the wheel: {status}")
            status, _js = await asyncio.to_thread(fetch, f"{url}/static/vendor/htmx.min.js")
            if status != 200:
                raise SystemExit("vendored htmx is missing from the wheel")
        finally:
            hub.cancel()
            await asyncio.gather(hub, return_exceptions=True)

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(check(Path(tmp)))


def main() -> None:
    modules = import_everything()
    exercise_data_files()
    print(f"wheel check: {len(modules)} modules imported; migrations, templates, static ok")


if __name__ == "__main__":
    main()
