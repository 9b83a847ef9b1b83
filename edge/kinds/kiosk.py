"""The ticket kiosk: touch screen and thermal printer.

A thin shell in this issue: it comes online, reports health and answers
``ping`` and ``identify``; ticketing arrives with the queue issues.
"""

from __future__ import annotations

from broker.contract import DeviceKind
from edge.kinds.base import DeviceApi, KindSpec


def setup(device: DeviceApi) -> None:
    pass


SPEC = KindSpec(DeviceKind.KIOSK, ("screen", "printer"), setup, "ticket kiosk: screen and printer")
