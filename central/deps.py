"""Typed FastAPI dependencies shared by every domain package.

Browser and API use the same signed session cookie. Every state-changing
request (POST/PUT/PATCH/DELETE) must also carry the session's CSRF token:
forms in a ``csrf_token`` field, htmx and API clients in the
``X-CSRF-Token`` header (`GET /api/v1/auth/me` returns it).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from central.auth.models import Role, User
from central.auth.staffcache import Staff
from central.state import HubState, StateDep, app_state

CSRF_HEADER: Final = "X-CSRF-Token"
CSRF_FIELD: Final = "csrf_token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(Exception):
    """No valid session: the API answers 401, pages redirect to the login page."""


class Forbidden(Exception):
    """Signed in, but the role does not allow this (403, reason in the message)."""


class PasswordChangeRequired(Exception):
    """A one-time password was used; nothing else is allowed until it is changed."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


async def get_db(state: StateDep) -> AsyncIterator[Session]:
    # Async on purpose: making a Session does no I/O, and a sync generator
    # would cost two thread-pool round trips per request (enter and exit).
    # Closing returns the connection to the pool: a rollback, quick on the loop.
    with state.sessions() as session:
        yield session


def get_write_db(state: StateDep) -> Iterator[Session]:
    """A session for a request that reads, then writes (admin forms): on
    SQLite its transaction takes the write lock at the first statement. A
    read followed by a write in one deferred SQLite transaction fails
    ("database is locked") whenever another writer committed in between,
    which a busy hall makes likely. Queue verbs do not need it: they open
    their own write transaction (`locking.begin_write`)."""
    with state.write_sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
WriteSessionDep = Annotated[Session, Depends(get_write_db)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if (
        not isinstance(expected, str)
        or given is None
        or not hmac.compare_digest(expected.encode(), given.encode())
    ):
        raise CsrfRejected("CSRF token missing or wrong; reload the page and try again")


CsrfChecked = Depends(verify_csrf)


def sign_in(request: Request, user: User) -> None:
    # A fresh session on sign-in: a token planted before login is worthless after.
    request.session.clear()
    request.session.update({"uid": user.id, "epoch": user.auth_epoch})
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def signed_in_user(request: Request, db: SessionDep) -> User:
    uid, epoch = request.session.get("uid"), request.session.get("epoch")
    if not isinstance(uid, int):
        raise NotSignedIn("sign in first")
    user = db.get(User, uid)
    if user is None or not user.active or user.auth_epoch != epoch:
        request.session.clear()
        raise NotSignedIn("your session has ended; sign in again")
    return user


AnyUser = Annotated[User, Depends(signed_in_user)]


# The checks below do no I/O: `async def` keeps FastAPI from spending a
# thread-pool round trip on each of them in every request.
async def current_user(user: AnyUser) -> User:
    """A signed-in user who is not still on a one-time password."""
    if user.must_change_password:
        raise PasswordChangeRequired("change your one-time password first")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _check_role(role: Role, allowed: frozenset[Role]) -> None:
    if role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise Forbidden(f"role {role.value!r} may not do this (needs one of: {names})")


def require_roles(*roles: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:
        _check_role(user.role_enum, allowed)
        return user

    return check


async def signed_in_staff(request: Request, state: StateDep) -> Staff:
    """`signed_in_user` for the hot queue routes: a cached snapshot
    (`central.auth.staffcache`), read from the database at most every few
    seconds per user, and no thread-pool round trip on a hit."""
    uid, epoch = request.session.get("uid"), request.session.get("epoch")
    if not isinstance(uid, int) or not isinstance(epoch, int):
        raise NotSignedIn("sign in first")
    hit, staff = state.staff.cached(uid, epoch)
    if not hit:
        staff = await run_in_threadpool(state.staff.load, uid, epoch)
    if staff is None:
        request.session.clear()
        raise NotSignedIn("your session has ended; sign in again")
    if staff.must_change_password:
        raise PasswordChangeRequired("change your one-time password first")
    return staff


@dataclass(frozen=True)
class StaffCall:
    """The hub and the signed-in staff member: what a queue route needs
    besides its own parameters (it opens its session itself)."""

    state: HubState
    user: Staff


def staff_call(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, StaffCall]]:
    """`require_roles` for the queue routes, every press goes through them:
    the hub's state and a cached `Staff` (not a `User`) as one dependency.
    FastAPI spends about 20 µs of CPU on each dependency of each request: a
    window verb's session, state and staff checks came to 80 µs, as much as
    some verbs' own statements."""
    allowed = frozenset(roles)

    async def resolve(request: Request) -> StaffCall:
        state = app_state(request.app)
        staff = await signed_in_staff(request, state)
        _check_role(staff.role, allowed)
        return StaffCall(state, staff)

    return resolve


# Who may do what with devices: managers watch and ping, admins change them.
DeviceViewer = Annotated[User, Depends(require_roles(Role.ADMIN, Role.MANAGER))]
DeviceAdmin = Annotated[User, Depends(require_roles(Role.ADMIN))]
