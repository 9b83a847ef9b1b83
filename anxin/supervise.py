"""Running a long-lived coroutine until Ctrl-C or SIGTERM, then cleaning up."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any


def run_until_signalled(
    coro: Coroutine[Any, Any, None], *, uvloop_if_installed: bool = False
) -> None:
    """SIGINT and SIGTERM cancel the coroutine, whose `finally` blocks then run
    (a device publishes its offline status, the hub its own). The hub asks for
    uvloop (its extra installs it), as uvicorn would choose by itself."""

    async def main() -> None:
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        if not uvloop_if_installed:
            raise ImportError
        import uvloop
    except ImportError:
        asyncio.run(main())
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
