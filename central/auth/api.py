"""Sign-in for API clients: the same session cookie the pages use.

``POST /api/v1/auth/login`` with JSON sets the cookie and returns the CSRF
token that every later state-changing call sends as ``X-CSRF-Token``.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from central.auth import service
from central.auth.models import User
from central.deps import AnyUser, CsrfChecked, SessionDep, csrf_token, sign_in, sign_out

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    username: str
    role: str
    must_change_password: bool
    csrf_token: str = Field(description="send as X-CSRF-Token on POST/PUT/PATCH/DELETE")


def _me(request: Request, user: User) -> Me:
    return Me(
        username=user.username,
        role=user.role,
        must_change_password=user.must_change_password,
        csrf_token=csrf_token(request),
    )


# No CSRF check on login: there is no session yet, and a JSON body cannot be
# sent cross-site by a plain form without a CORS preflight.
@router.post("/login", responses={401: {"description": "wrong username or password"}})
def login(body: LoginIn, request: Request, db: SessionDep) -> Me:
    user = service.authenticate(db, username=body.username, password=body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    sign_in(request, user)
    return _me(request, user)


@router.get("/me")
def me(request: Request, user: AnyUser) -> Me:
    return _me(request, user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[CsrfChecked])
def logout(request: Request) -> None:
    sign_out(request)
