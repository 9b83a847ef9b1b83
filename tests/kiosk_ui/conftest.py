"""Kiosk view-model fixtures: the demo library and hall, a fake ticket source,
a printer (the in-memory fake here; test_kivy uses printer.service), a settable
clock, and a spawn that runs each coroutine to its end at once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from central.guidance.search import GuideIndex, index_for
from central.matters.schema import Library
from kiosk_ui.fakes import FakeClock, FakePrinter, FakeTicketSource
from kiosk_ui.viewmodels.kiosk import KioskSettings, KioskViewModel, Screen
from kiosk_ui.viewmodels.offer import HallOffer

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Shanghai")
THURSDAY_10 = dt.datetime(2026, 11, 26, 10, 0, tzinfo=TZ)
FREQUENT = (
    "individual_business_setup",
    "company_setup",
    "property_transfer",
    "housing_fund_withdrawal",
    "offsite_medical_filing",
    "id_card_renewal",
)
_LIBRARY: list[Library] = []


def demo_library() -> Library:
    if not _LIBRARY:
        text = (ROOT / "central" / "matters" / "demo_library.json").read_text(encoding="utf-8")
        _LIBRARY.append(Library.model_validate_json(text))
    return _LIBRARY[0]


def demo_offer() -> HallOffer:
    return HallOffer.from_yaml(
        ROOT / "central" / "queueing" / "demo_hall.yaml", hall_name="演示区政务服务中心"
    )


def demo_index() -> GuideIndex:
    return index_for(demo_library())


def run_now(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


class Kiosk:
    """A view-model with its fakes, built by `make`."""

    def __init__(self, **settings: Any) -> None:
        self.offer = settings.pop("offer", None) or demo_offer()
        self.clock = FakeClock(settings.pop("now", THURSDAY_10))
        self.source = FakeTicketSource(self.offer)
        self.printer = FakePrinter()
        self.problems: list[Any] = []
        spawn: Callable[[Coroutine[Any, Any, None]], None] = settings.pop("spawn", run_now)
        self.vm = KioskViewModel(
            source=self.source,
            output=self.printer,
            offer=self.offer,
            library=demo_library(),
            settings=KioskSettings(
                hall_name="演示区政务服务中心",
                frequent=FREQUENT,
                staff_code=settings.pop("staff_code", "2468"),
                **settings,
            ),
            clock=self.clock,
            spawn=spawn,
            search_index=demo_index,
            on_print_problem=self.problems.append,
        )

    def press(self, *keys: str) -> None:
        for key in keys:
            assert self.vm.press(key), f"no button {key} on {self.vm.screen}: {self.buttons()}"

    def buttons(self) -> list[str]:
        return [a.key for a in self.vm.view().actions()]

    def idle(self, seconds: float, step: float = 1.0) -> None:
        left = seconds
        while left > 0:
            self.clock.advance(min(step, left))
            left -= step
            self.vm.tick()


def screen_of(k: Kiosk) -> Screen:
    """The screen shown (a call, so mypy does not narrow it across touches)."""
    return k.vm.screen


@pytest.fixture
def make() -> Callable[..., Kiosk]:
    return Kiosk


@pytest.fixture
def kiosk() -> Kiosk:
    return Kiosk()
