"""Device kinds: each a small module declaring its ports and handlers."""

from __future__ import annotations

from broker.contract import DeviceKind
from edge.kinds import caller, display, kiosk, signlang
from edge.kinds.base import DeviceApi, KindSpec

KINDS: dict[DeviceKind, KindSpec] = {
    m.SPEC.kind: m.SPEC for m in (kiosk, caller, display, signlang)
}

__all__ = ["KINDS", "DeviceApi", "KindSpec"]
