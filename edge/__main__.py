"""``python -m edge``: run one device from ``ANXIN_*`` settings (the CLI's
``anxin device`` is the friendlier way). SIGTERM and Ctrl-C stop it cleanly,
with an explicit offline status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from anxin.settings import load_settings
from edge.runner import run_device


async def _main() -> None:
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await run_device(settings)


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
