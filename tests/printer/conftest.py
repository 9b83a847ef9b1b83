"""Fixtures of the printer tests: a stable ticket, settings, the fake TCP printer,
and golden files.

Golden files live in ``tests/printer/golden/``. After an intended change of the
layout, regenerate them with ``ANXIN_REGEN_GOLDEN=1 .venv/bin/pytest tests/printer``
and look at the PNGs (also written to ``test-artifacts/printer-*.png``) before
committing them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from printer.api import ChecklistContent, TicketContent
from printer.settings import PrinterSettings
from tests.printer.fake_printer import FakePrinter

GOLDEN = Path(__file__).parent / "golden"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REGEN = os.environ.get("ANXIN_REGEN_GOLDEN") == "1"

# 2026-05-04 09:31 in Shanghai
ISSUED = dt.datetime(2026, 5, 4, 1, 31, 12, tzinfo=dt.UTC)


def ticket(**changes: Any) -> TicketContent:
    base = TicketContent(
        hall_name="安心市政务服务中心",
        number="A012",
        service="社保卡申领",
        issued_at=ISSUED,
        qr_url="https://hall.example.cn/q/t/8f3a2c71",
        ahead=3,
        minutes=15,
    )
    return dataclasses.replace(base, **changes)


def checklist() -> ChecklistContent:
    return ChecklistContent(
        hall_name="安心市政务服务中心",
        title="城乡居民基本医疗保险参保登记",
        lines=(
            "居民身份证原件及复印件（复印件一份，需本人签字确认）",
            "户口簿原件",
            "近期一寸免冠彩色照片 2 张",
            "委托他人办理的，还需提供授权委托书和受托人身份证原件；未成年人由监护人代办。",
        ),
        qr_url="https://hall.example.cn/g/m/yb-001",
        printed_at=ISSUED,
    )


def settings(**changes: object) -> PrinterSettings:
    base: dict[str, object] = {
        "transport": "sim",
        "status_timeout_s": 0.3,
        "confirm_s": 0.2,
        "timeout_s": 2.0,
    }
    return PrinterSettings.model_validate({**base, **changes})


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


def save_artifact(name: str, image: Image.Image) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    image.save(ARTIFACTS / f"printer-{name}.png")


def golden_bytes(name: str, data: bytes) -> bytes:
    path = GOLDEN / name
    if REGEN:
        path.write_bytes(data)
    if not path.exists():
        pytest.fail(f"missing golden {path}; run with ANXIN_REGEN_GOLDEN=1")
    return path.read_bytes()


def assert_looks_like(name: str, image: Image.Image, tolerance: float = 0.005) -> None:
    """`image` matches the stored PNG: same size, at most `tolerance` of pixels differ."""
    save_artifact(name, image)
    path = GOLDEN / f"{name}.png"
    if REGEN:
        image.save(path, optimize=True)
    if not path.exists():
        pytest.fail(f"missing golden {path}; run with ANXIN_REGEN_GOLDEN=1")
    stored = Image.open(path).convert("L")
    assert stored.size == image.size, f"{name}: size {image.size} != golden {stored.size}"
    diff = ImageChops.difference(stored, image.convert("L")).point(lambda v: 255 if v > 64 else 0)
    changed = diff.histogram()[255] / (image.width * image.height)
    assert changed <= tolerance, f"{name}: {changed:.2%} of pixels differ from the golden PNG"
