"""How refusals reach people: JSON with a reason for the API, pages for the browser."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

from central.deps import CsrfRejected, Forbidden, NotSignedIn, PasswordChangeRequired
from central.devices.bridge import CommandRefused, HubOffline
from central.devices.service import DeviceNotFound
from central.state import app_state


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page(request: Request, code: int, title: str, text: str) -> Response:
    app = request.app
    assert isinstance(app, FastAPI)
    templates = app_state(app).templates
    return templates.TemplateResponse(
        request, "error.html", {"title": title, "text": text}, status_code=code
    )


def _redirect(request: Request, target: str) -> Response:
    if _is_htmx(request):
        # htmx would swap a redirect's page into the fragment; make it navigate.
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": target})
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


async def not_signed_in(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": str(exc)}, status.HTTP_401_UNAUTHORIZED)
    return _redirect(request, "/login")


async def password_change(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": str(exc)}, status.HTTP_403_FORBIDDEN)
    return _redirect(request, "/account/password")


async def forbidden(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": str(exc)}, status.HTTP_403_FORBIDDEN)
    return _page(request, 403, "没有权限", "您的角色无权访问此页面或执行此操作。")


async def csrf_rejected(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": str(exc)}, status.HTTP_403_FORBIDDEN)
    return _page(request, 403, "页面已过期", "安全校验未通过，请刷新页面后重试。")


async def device_not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)


async def command_refused(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)


async def hub_offline(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": str(exc)}, status.HTTP_503_SERVICE_UNAVAILABLE)


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(PasswordChangeRequired, password_change)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(CsrfRejected, csrf_rejected)
    app.add_exception_handler(DeviceNotFound, device_not_found)
    app.add_exception_handler(CommandRefused, command_refused)
    app.add_exception_handler(HubOffline, hub_offline)
