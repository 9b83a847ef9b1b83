"""Screenshots of real screens, headless: run an async script beside an empty
Kivy app (Kivy must be configured first: `uikit.kivy_setup.configure_kivy`),
write what it recorded as JSON, and stop. Used by the boards' and the
sign-language terminal's screenshot programs that the tests run."""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


def run_shot_script(
    script: Callable[[Any], Awaitable[None]],
    result: dict[str, Any],
    result_path: Path,
    *,
    settle_s: float = 0.0,
) -> None:
    """Run ``script(app)``; a failure is recorded in ``result["failure"]``."""
    from kivy.app import App
    from kivy.uix.widget import Widget

    from uikit.kivy_setup import register_cjk_font

    register_cjk_font()

    class ShotApp(App):  # type: ignore[misc]
        def build(self) -> Any:
            return Widget()

    app = ShotApp()

    async def run_script() -> None:
        await asyncio.sleep(settle_s)  # let the window come up
        try:
            await script(app)
        except Exception:
            result["failure"] = traceback.format_exc()
        finally:
            text = json.dumps(result, ensure_ascii=False, indent=1)
            await asyncio.to_thread(result_path.write_text, text, "utf-8")
            app.stop()

    async def both() -> None:
        task = asyncio.ensure_future(run_script())
        await app.async_run(async_lib="asyncio")
        await task

    asyncio.run(both())
