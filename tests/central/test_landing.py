"""Each role lands on a page it may open after signing in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.requests import Request

from central.auth.models import Role, User
from central.auth.views import home_of
from tests.central.conftest import PASSWORD, Hub, running_hub
from tests.central.test_auth import sign_in_on_page
from tests.queueing.hall import MORNING


@pytest.fixture
async def web(database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(
        database_url=database_url, tmp_path=tmp_path, broker=None, clock_start=MORNING
    ) as h:
        yield h


@pytest.mark.parametrize(
    ("role", "landing", "heading"),
    [
        (Role.CLERK, "/workstation", "窗口工作台"),
        (Role.INTERPRETER, "/interpreting", "手语"),
        (Role.MANAGER, "/devices", "设备管理"),
        (Role.ADMIN, "/devices", "设备管理"),
    ],
)
async def test_each_role_lands_on_a_page_it_may_open(
    web: Hub, role: Role, landing: str, heading: str
) -> None:
    await web.add_user("li", role)
    assert await sign_in_on_page(web, "li", PASSWORD) == landing
    page = await web.client.get(landing)
    assert page.status_code == 200, page.text[:300]
    assert heading in page.text


async def test_a_clerk_lands_on_the_workstation_after_replacing_a_one_time_password(
    web: Hub,
) -> None:
    await web.add_user("zhao", Role.CLERK)

    def must_change() -> None:
        with web.state.sessions() as s:
            user = s.query(User).filter_by(username="zhao").one()
            user.must_change_password = True
            s.commit()

    must_change()
    assert await sign_in_on_page(web, "zhao", PASSWORD) == "/account/password"
    form = await web.client.get("/account/password")
    from tests.central.test_auth import csrf_of

    done = await web.client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "another-horse-battery-9",
            "repeat": "another-horse-battery-9",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert (done.status_code, done.headers["location"]) == (303, "/workstation")


def test_a_landing_page_the_hub_does_not_serve_falls_back_to_the_root() -> None:
    bare = FastAPI()  # no interpreting console in this build
    request = Request({"type": "http", "app": bare, "method": "GET", "path": "/", "headers": []})
    interpreter = User(username="sun", role=Role.INTERPRETER.value)
    assert home_of(request, interpreter) == "/"
