"""A simulated caller in a process of its own, for the power-cut test.

Reads its settings from ``ANXIN_*`` like ``python -m edge``, prints
``boot <boot_id>`` once online, then presses its button every few
milliseconds and prints ``emitted <seq>`` after each event is durable, until
it is killed.
"""

from __future__ import annotations

import asyncio
import sys

from anxin.settings import load_settings
from edge.ports.buttons import SimButtons
from edge.runner import make_agent


async def main() -> None:
    agent = make_agent(load_settings())
    await agent.start()
    await asyncio.wait_for(agent.wait_online(), 10)
    print("boot", agent.boot_id, flush=True)
    buttons = agent.ports.buttons
    assert isinstance(buttons, SimButtons)
    last = agent.outbox.last_seq()
    while True:
        buttons.press("next")
        last = agent.outbox.last_seq()
        print("emitted", last, flush=True)
        await asyncio.sleep(0.005)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(1)
