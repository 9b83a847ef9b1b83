"""The heap of a process that serves for hours: the hub, a device agent, a board.

What such a process builds while it starts (routes, schemas, ORM mappers, the
matter index, Kivy's widgets and fonts) lives as long as the process. Left in
the garbage collector's oldest generation, it is walked by every full
collection: in the hub that was a stall of 100-240 ms every few hundred
presses, which the boards' p99 showed (`anxin bench call-latency`). Frozen
(`gc.freeze`), it is left out of every collection; reference counting still
frees what is dropped, only reference cycles among frozen objects wait for
`released` to be collected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def settle() -> None:
    """Take everything alive now out of the collector's way (after start-up)."""
    gc.freeze()


def release() -> None:
    """Hand it back (on stop): a hub or board started in a test must not pin its heap."""
    gc.unfreeze()


@contextlib.contextmanager
def settled() -> Iterator[None]:
    """`settle` for the body (a process's serving life), `release` after it."""
    settle()
    try:
        yield
    finally:
        release()
