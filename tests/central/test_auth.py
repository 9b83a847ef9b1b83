"""Staff sign in with a password; roles and CSRF tokens guard what they can do."""

from __future__ import annotations

import asyncio
import re

import pytest

from central.auth.models import Role
from central.auth.service import AccountError, create_admin, reset_password
from tests.central.conftest import PASSWORD, Hub


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in_on_page(hub: Hub, username: str, password: str) -> str:
    hub.client.headers.pop("X-CSRF-Token", None)  # a browser form sends only its field
    page = await hub.client.get("/login")
    response = await hub.client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )
    return response.text if response.status_code != 303 else response.headers["location"]


async def test_signing_in_on_the_login_page_opens_the_devices_page(web: Hub) -> None:
    await web.add_user("wang", Role.ADMIN)
    login = await web.client.get("/login")
    assert "管理后台登录" in login.text

    assert await sign_in_on_page(web, "wang", PASSWORD) == "/devices"
    page = await web.client.get("/devices")
    assert page.status_code == 200
    assert "设备管理" in page.text
    assert "wang（系统管理员）" in page.text


async def test_a_wrong_password_or_unknown_user_is_refused_in_chinese(web: Hub) -> None:
    await web.add_user("wang", Role.ADMIN)
    for username, password in (("wang", "wrong-password"), ("nobody", PASSWORD)):
        page = await web.client.get("/login")
        response = await web.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        )
        assert response.status_code == 401
        assert "用户名或密码错误" in response.text
    api = await web.client.post("/api/v1/auth/login", json={"username": "wang", "password": "x"})
    assert api.status_code == 401
    assert api.json()["detail"] == "wrong username or password"


async def test_requests_without_the_csrf_token_are_refused(web: Hub) -> None:
    await web.client.get("/login")  # a session with a token exists, but the form omits it
    form = await web.client.post("/login", data={"username": "wang", "password": PASSWORD})
    assert form.status_code == 403
    assert "页面已过期" in form.text

    await web.sign_in(Role.ADMIN)
    token = web.client.headers.pop("X-CSRF-Token")
    missing = await web.client.post("/api/v1/devices/kiosk-01/disable")
    assert missing.status_code == 403
    assert "CSRF token missing or wrong" in missing.json()["detail"]
    wrong = await web.client.post(
        "/api/v1/devices/kiosk-01/disable", headers={"X-CSRF-Token": token + "x"}
    )
    assert wrong.status_code == 403
    htmx = await web.client.post(
        "/devices/kiosk-01/disable", headers={"HX-Request": "true", "X-CSRF-Token": "forged"}
    )
    assert htmx.status_code == 403


async def test_a_clerk_may_not_see_devices_and_a_manager_may_not_retire_them(web: Hub) -> None:
    await web.sign_in(Role.CLERK)
    api = await web.client.get("/api/v1/devices")
    assert api.status_code == 403
    assert api.json()["detail"] == "role 'clerk' may not do this (needs one of: admin, manager)"
    page = await web.client.get("/devices")
    assert page.status_code == 403
    assert "没有权限" in page.text

    web.client.cookies.clear()
    await web.sign_in(Role.MANAGER)
    assert (await web.client.get("/api/v1/devices")).status_code == 200
    retire = await web.client.post("/api/v1/devices/kiosk-01/retire")
    assert retire.status_code == 403
    assert "needs one of: admin" in retire.json()["detail"]


async def test_without_signing_in_the_api_answers_401_and_pages_go_to_login(web: Hub) -> None:
    api = await web.client.get("/api/v1/devices")
    assert api.status_code == 401
    assert api.json()["detail"] == "sign in first"
    page = await web.client.get("/devices")
    assert (page.status_code, page.headers["location"]) == (303, "/login")
    poll = await web.client.get("/devices/table", headers={"HX-Request": "true"})
    assert poll.headers["HX-Redirect"] == "/login"


async def test_the_first_admin_must_replace_the_one_time_password(web: Hub) -> None:
    password = await asyncio.to_thread(create_admin, web.settings, "admin")
    with pytest.raises(AccountError):
        await asyncio.to_thread(create_admin, web.settings, "admin")

    assert await sign_in_on_page(web, "admin", password) == "/account/password"
    assert (await web.client.get("/devices")).headers["location"] == "/account/password"
    api = await web.client.get("/api/v1/devices")
    assert api.status_code == 403

    form = await web.client.get("/account/password")
    change = await web.client.post(
        "/account/password",
        data={
            "current": password,
            "new": "short",
            "repeat": "short",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert change.status_code == 400
    assert "至少需要 10 个字符" in change.text
    change = await web.client.post(
        "/account/password",
        data={
            "current": password,
            "new": PASSWORD,
            "repeat": PASSWORD,
            "csrf_token": csrf_of(form.text),
        },
    )
    assert (change.status_code, change.headers["location"]) == (303, "/devices")
    assert (await web.client.get("/devices")).status_code == 200


async def test_resetting_a_password_ends_the_old_sessions(web: Hub) -> None:
    await web.sign_in(Role.ADMIN)
    assert (await web.client.get("/api/v1/devices")).status_code == 200

    fresh = await asyncio.to_thread(reset_password, web.settings, "admin-user")

    assert (await web.client.get("/api/v1/devices")).status_code == 401
    assert await sign_in_on_page(web, "admin-user", PASSWORD) != "/devices"
    assert await sign_in_on_page(web, "admin-user", fresh) == "/account/password"


async def test_signing_out_ends_the_session(web: Hub) -> None:
    await web.sign_in(Role.MANAGER)
    out = await web.client.post("/api/v1/auth/logout")
    assert out.status_code == 204
    assert (await web.client.get("/api/v1/devices")).status_code == 401
