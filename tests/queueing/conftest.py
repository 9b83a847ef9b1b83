"""Queue engine fixtures: a small hall on each database (see `tests.queueing.hall`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.queueing.hall import Hall, make_hall


@pytest.fixture
def hall(database_url: str, tmp_path: Path) -> Iterator[Hall]:
    """An empty hall (no services yet) with a clock at 10:00 on a Tuesday."""
    with make_hall(database_url, tmp_path) as h:
        yield h


@pytest.fixture
def counter(hall: Hall) -> Hall:
    """One service 综合受理 (prefix A) at window 1, with clerk 王芳 signed in."""
    hall.service("general", "A", "综合受理")
    hall.window(1, {"general": 1.0})
    clerk = hall.clerk("wangfang", ["general"])
    hall.login(1, clerk)
    return hall
