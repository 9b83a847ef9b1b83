"""The sign-language video terminal: camera and screen.

A thin shell in this issue: it comes online, reports health and answers
``ping`` and ``identify``; WebRTC to the interpreter comes with its own issue.
"""

from __future__ import annotations

from broker.contract import DeviceKind
from edge.kinds.base import DeviceApi, KindSpec


def setup(device: DeviceApi) -> None:
    pass


SPEC = KindSpec(
    DeviceKind.SIGNLANG, ("camera", "screen"), setup, "sign-language terminal: camera and screen"
)
