"""Login, logout and the change of a one-time password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match

from central.auth import service
from central.auth.models import Role, User
from central.deps import (
    AnyUser,
    CsrfChecked,
    SessionDep,
    WriteSessionDep,
    csrf_token,
    sign_in,
    sign_out,
)
from central.state import StateDep

router = APIRouter(tags=["pages"], dependencies=[CsrfChecked])

HOME = "/devices"
# Where each role lands after signing in: managers and admins on 设备管理
# (clerks may not open it), clerks at the window workstation, interpreters
# at their console. A landing page the app does not serve falls back to "/".
HOMES: dict[Role, str] = {
    Role.ADMIN: HOME,
    Role.MANAGER: HOME,
    Role.CLERK: "/workstation",
    Role.INTERPRETER: "/interpreting",
}


def home_of(request: Request, user: User) -> str:
    target = HOMES.get(user.role_enum, HOME)
    scope = {"type": "http", "path": target, "method": "GET", "root_path": "", "headers": []}
    served = any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)
    return target if served else "/"


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse(HOME, status.HTTP_303_SEE_OTHER)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: StateDep) -> HTMLResponse:
    return _login(request, state, error=None)


def _login(
    request: Request, state: StateDep, *, error: str | None, username: str = ""
) -> HTMLResponse:
    return state.templates.TemplateResponse(
        request,
        "auth/login.html",
        {
            "csrf": csrf_token(request),
            "error": error,
            "username": username,
            "hall_name": state.settings.hall_name,
        },
        status_code=status.HTTP_401_UNAUTHORIZED if error else status.HTTP_200_OK,
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    state: StateDep,
    db: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    user = service.authenticate(db, username=username, password=password)
    if user is None:
        return _login(request, state, error="用户名或密码错误", username=username)
    sign_in(request, user)
    target = "/account/password" if user.must_change_password else home_of(request, user)
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    sign_out(request)
    return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, state: StateDep, user: AnyUser) -> HTMLResponse:
    return _password(request, state, user_name=user.username, error=None)


def _password(
    request: Request, state: StateDep, *, user_name: str, error: str | None
) -> HTMLResponse:
    return state.templates.TemplateResponse(
        request,
        "auth/password.html",
        {
            "csrf": csrf_token(request),
            "error": error,
            "username": user_name,
            "hall_name": state.settings.hall_name,
        },
        status_code=status.HTTP_400_BAD_REQUEST if error else status.HTTP_200_OK,
    )


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    state: StateDep,
    db: WriteSessionDep,
    user: AnyUser,
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
    repeat: Annotated[str, Form(max_length=256)],
) -> Response:
    if service.authenticate(db, username=user.username, password=current) is None:
        return _password(request, state, user_name=user.username, error="当前密码不正确")
    if new != repeat:
        return _password(request, state, user_name=user.username, error="两次输入的新密码不一致")
    if new == current:
        return _password(request, state, user_name=user.username, error="新密码不能与当前密码相同")
    me = db.get(User, user.id)  # this session's copy: `user` belongs to the sign-in check's
    assert me is not None
    try:
        service.change_password(db, user=me, new_password=new)
    except service.AccountError as exc:
        return _password(request, state, user_name=user.username, error=str(exc))
    db.commit()
    sign_in(request, me)  # the epoch moved on; keep this session, end the others
    return RedirectResponse(home_of(request, me), status.HTTP_303_SEE_OTHER)
