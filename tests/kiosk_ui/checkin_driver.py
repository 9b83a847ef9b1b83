"""Drives the real Kivy kiosk through 预约签到 (run by test_checkin_kivy.py in a
subprocess): home → the scan screen → a scanned booking → the ticket.

    python tests/kiosk_ui/checkin_driver.py OUT_DIR RESULT_JSON
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import traceback
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kiosk_ui.__main__ import DEMO_FREQUENT, demo_parts  # noqa: E402
from kiosk_ui.app import build_app  # noqa: E402
from kiosk_ui.fakes import FakeClock  # noqa: E402
from kiosk_ui.viewmodels.kiosk import KioskSettings  # noqa: E402
from uikit.kivy_setup import SIZES, configure_kivy  # noqa: E402

OPEN_TIME = dt.datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def main() -> None:
    out_dir, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_kivy(orientation="portrait", size=SIZES["portrait"])
    parts = demo_parts(out_dir=out_dir / "prints", real_hours=True)
    parts["source"].appointments["K7F3Q9XA2B"] = "company_setup"
    result: dict[str, Any] = {"shots": []}
    started = asyncio.Event()
    ready: dict[str, Any] = {}

    def on_ready(handle: Any) -> None:
        ready["handle"] = handle
        started.set()

    settings = KioskSettings(
        hall_name=parts["offer"].hall_name, frequent=DEMO_FREQUENT, orientation="portrait"
    )
    app = build_app(settings=settings, clock=FakeClock(OPEN_TIME), on_ready=on_ready, **parts)

    async def script() -> None:
        try:
            await started.wait()
            handle = ready["handle"]
            vm, root = handle.vm, app.root_widget

            async def shot(name: str) -> None:
                await asyncio.sleep(0.5)
                path = out_dir / f"kiosk-checkin-{name}.png"
                root.export_to_png(str(path))
                result["shots"].append({"name": name, "path": str(path), "screen": vm.screen})

            await shot("home")
            assert handle.tap("checkin"), "no 预约签到 tile"
            await shot("scan")
            handle.code_scanned("garbage")
            await shot("unreadable")
            handle.code_scanned("http://hub.test/book/K7F3Q9XA2B")
            for _ in range(50):
                await asyncio.sleep(0.1)
                if vm.screen.value == "ticket" and not vm.s.printing:
                    break
            result["texts"] = [t for t in vm.view().texts() if t]
            await shot("ticket")
        except Exception:
            result["failure"] = traceback.format_exc()
        finally:
            text = json.dumps(result, ensure_ascii=False, indent=1, default=str)
            await asyncio.to_thread(result_path.write_text, text)
            app.stop()

    async def both() -> None:
        task = asyncio.ensure_future(script())
        await app.async_run(async_lib="asyncio")
        await task

    asyncio.run(both())


if __name__ == "__main__":
    main()
