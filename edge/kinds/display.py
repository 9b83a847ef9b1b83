"""A hall board or window display: screen, serial LED board, speaker.

A thin shell in this issue: it comes online, reports health and answers
``ping`` and ``identify``; rendering the retained hall state comes with the
display issue.
"""

from __future__ import annotations

from broker.contract import DeviceKind
from edge.kinds.base import DeviceApi, KindSpec


def setup(device: DeviceApi) -> None:
    pass


SPEC = KindSpec(
    DeviceKind.DISPLAY,
    ("screen", "serial_board", "speaker"),
    setup,
    "hall or window display: screen, serial LED board, speaker",
)
