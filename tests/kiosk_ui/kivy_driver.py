"""Drives the real Kivy kiosk in this process (run by test_kivy.py in a subprocess):
taps buttons with synthetic touches, takes screenshots, then taps at random.

    python tests/kiosk_ui/kivy_driver.py OUT_DIR RESULT_JSON portrait|landscape

Writes RESULT_JSON: the screenshots taken, the first-frame time, what the
printer received, and every error logged by the kiosk.
"""

from __future__ import annotations

import time

T0 = time.monotonic()

import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kiosk_ui.__main__ import DEMO_FREQUENT, demo_parts  # noqa: E402
from kiosk_ui.app import build_app  # noqa: E402
from kiosk_ui.fakes import FakeClock  # noqa: E402
from kiosk_ui.viewmodels.kiosk import KioskSettings  # noqa: E402
from uikit.kivy_setup import SIZES, configure_kivy  # noqa: E402

OPEN_TIME = dt.datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Thursday
NIGHT = dt.datetime(2026, 11, 26, 19, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
# An ID number with a valid check digit, born 1950 (over 70).
OLD_ID = "61010219500101002X"


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("kiosk_ui"):  # not Kivy's own start-up notes (mtdev …)
            self.records.append(self.format(record))


def main() -> None:
    out_dir, result_path, orientation = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    full = orientation == "portrait"  # landscape: the main screens only
    out_dir.mkdir(parents=True, exist_ok=True)
    prints = out_dir / f"prints-{orientation}"
    width, height = SIZES[orientation]
    configure_kivy(orientation=orientation, size=(width, height))
    errors = Errors()
    logging.getLogger().addHandler(errors)
    from kivy.logger import Logger

    Logger.addHandler(errors)

    parts = demo_parts(out_dir=prints, real_hours=True)
    clock = FakeClock(OPEN_TIME)
    settings = KioskSettings(
        hall_name=parts["offer"].hall_name,
        staff_code="2468",
        frequent=DEMO_FREQUENT,
        orientation=orientation,
    )
    result: dict[str, Any] = {"orientation": orientation, "shots": [], "errors": errors.records}
    started = asyncio.Event()
    ready: dict[str, Any] = {"started": started}

    def on_ready(handle: Any) -> None:
        ready["handle"] = handle
        started.set()

    app = build_app(
        settings=settings,
        clock=clock,
        started_at=T0,
        on_ready=on_ready,
        **parts,
    )

    async def script() -> None:
        try:
            await run_script(app, ready, clock, parts, out_dir, orientation, result, full)
        except Exception:
            result["failure"] = traceback.format_exc()
        finally:
            text = json.dumps(result, ensure_ascii=False, indent=1)
            await asyncio.to_thread(result_path.write_text, text)
            app.stop()

    async def both() -> None:
        task = asyncio.ensure_future(script())
        await app.async_run(async_lib="asyncio")
        await task

    asyncio.run(both())


async def run_script(
    app: Any,
    ready: dict[str, Any],
    clock: FakeClock,
    parts: dict[str, Any],
    out_dir: Path,
    orientation: str,
    result: dict[str, Any],
    full: bool,
) -> None:
    from kivy.tests.common import UnitTestTouch

    from kiosk_ui.screens.widgets import KioskButton

    started: asyncio.Event = ready["started"]
    await started.wait()
    handle = ready["handle"]
    result["first_frame_s"] = handle.first_frame_s
    vm = handle.vm
    root = app.root_widget
    suffix = "" if orientation == "portrait" else "-landscape"

    async def frames(seconds: float = 0.4) -> None:
        await asyncio.sleep(seconds)

    def find(key: str) -> Any:
        for widget in root.walk():
            if isinstance(widget, KioskButton) and widget.action_key == key:
                return widget
        raise AssertionError(
            f"no button {key} on {vm.screen}: {[a.key for a in vm.view().actions()]}"
        )

    async def tap(key: str) -> None:
        await frames(0.1)
        button = find(key)
        x, y = button.to_window(*button.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        await frames(0.05)
        touch.touch_up()
        await frames(0.45)  # a scroll view releases a tap after 0.2 s

    async def shot(name: str) -> None:
        await frames(0.3)
        path = out_dir / f"kiosk-{name}{suffix}.png"
        root.export_to_png(str(path))
        result["shots"].append({"name": name, "path": str(path), "screen": vm.screen.value})

    async def until(predicate: Any, what: str, within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await frames(0.1)

    await shot("home")
    # search with pinyin initials
    await tap("search")
    for c in "gtgsh":
        await tap(f"key:{c}")
    await until(lambda: vm.view().results, "search results")
    vm.refresh()
    result["search_results"] = [a.label for a in vm.view().results]
    await shot("search")
    await tap("result:individual_business_setup")
    await shot("question")
    while vm.screen.value == "question":
        option = next(a.key for a in vm.view().actions() if a.key.startswith("option:"))
        await tap(option)
    await shot("checklist")
    await tap("take")
    await until(lambda: vm.screen.value == "ticket" and not vm.s.printing, "printed ticket")
    result["ticket_printed"] = vm.s.print_outcome.ok
    await shot("ticket")
    await tap("done")
    # paper out: the real printer cannot open its output → e-ticket
    from printer.api import PrinterState

    output = parts["output"]
    if hasattr(output, "transport"):
        output.transport.path = out_dir / "missing-dir" / "printer.bin"
        result["printer"] = "printer.service.TicketPrinter(file transport)"
    else:
        output.printer_state = PrinterState.PAPER_OUT
        result["printer"] = "FakePrinter"
    await tap("area:market")
    await tap("service:company_setup")
    await until(lambda: vm.screen.value == "ticket" and vm.s.eticket, "e-ticket")
    await shot("eticket")
    await tap("done")
    if not full:
        await tap("elderly")
        await shot("elderly")
        await tap("elderly")
        return
    # offline ticket
    parts["source"].online_flag = False
    await tap("area:fund")
    await tap("service:housing_fund")
    await until(lambda: vm.screen.value == "ticket" and not vm.s.printing, "offline ticket")
    await shot("offline")
    await tap("done")
    parts["source"].online_flag = True
    # green channel confirmed by ID (age), the ID masked while typed
    await tap("green")
    await shot("green")
    await tap("reason:elderly")
    await tap("by_id")
    for c in OLD_ID[:11]:
        await tap(f"pad:{c}")
    await shot("idcard")
    # elderly mode
    await tap("home")
    await tap("elderly")
    await shot("elderly")
    await tap("elderly")
    # guidance entry
    await tap("guide")
    await shot("guide")
    await tap("home")
    # closed hours
    clock.wall = NIGHT
    vm.tick()
    await until(lambda: vm.screen.value == "closed", "closed screen")
    await shot("closed")
    clock.wall = OPEN_TIME
    vm.go_home()
    vm.refresh()
    # random touches anywhere, a few hundred
    rng = random.Random(11)
    from kivy.core.window import Window

    width, height = Window.size
    taps = 0
    for _ in range(160):
        touch = UnitTestTouch(rng.uniform(0, width), rng.uniform(0, height))
        touch.touch_down()
        await asyncio.sleep(rng.choice((0.0, 0.02)))
        touch.touch_up()
        taps += 1
        await asyncio.sleep(rng.choice((0.01, 0.03, 0.25)))
        if rng.random() < 0.1:
            clock.advance(rng.choice((5, 30, 120)))
            vm.tick()
    await frames(0.6)
    result["random_taps"] = taps
    result["issued"] = [t.number for t in vm.issued]
    result["renders"] = root.renders


if __name__ == "__main__":
    main()
