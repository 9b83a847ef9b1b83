"""The window's rating screen (评价器): ``/rate/window/{n}``.

A touch screen at the window runs this page in a Chromium kiosk, with no
sign-in. It shows "欢迎" while there is nothing to rate and polls
``/rate/window/{n}/pad``; once the window finishes a ticket it shows five
faces for that ticket (非常满意 … 非常不满意). A face of 3–5 is stored at
once; 1–2 first asks for reasons (差评原因), then stores. A thanks screen
follows, then the page returns to polling.

Protection without sign-in: the page can rate only the ticket its window
finished last, within `service.RATE_WITHIN`, once; the form carries the
ticket id it showed, so a late tap never lands on the next citizen's ticket;
a POST from another site (its ``Origin``) is refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from central.auth.models import User
from central.deps import SessionDep
from central.queueing.models import Service, Ticket, Window
from central.ratings import codes
from central.ratings.codes import RatingChannel
from central.ratings.service import RatingRefused, last_finished, rate_window
from central.state import HubState, StateDep

router = APIRouter(prefix="/rate", tags=["ratings"], include_in_schema=False)

POLL_S: Final = 3
THANKS_S: Final = 6
# Reasons left unanswered this long: back to the faces (or 欢迎).
REASONS_IDLE_S: Final = 90
_HEADERS: Final = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def _render(
    request: Request, state: HubState, template: str, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    context = {
        "hall_name": state.settings.hall_name,
        "levels": codes.LEVELS,
        "reasons": codes.REASONS,
        "needs_reason": codes.NEEDS_REASON,
        "poll_s": POLL_S,
        "thanks_s": THANKS_S,
        "reasons_idle_s": REASONS_IDLE_S,
        **ctx,
    }
    return state.templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=_HEADERS
    )


def _pad_context(db: SessionDep, state: HubState, window: int) -> dict[str, Any]:
    win = db.scalar(select(Window).where(Window.number == window, Window.active.is_(True)))
    if win is None:
        return {"window": window, "window_name": None, "ticket": None}
    pending = last_finished(db, window=window, now=state.clock.now(), settings=state.settings)
    ctx: dict[str, Any] = {"window": window, "window_name": win.name, "ticket": None}
    ticket = pending.ticket
    if ticket is not None:
        service = db.get(Service, ticket.service_id)
        clerk = db.get(User, ticket.clerk_id) if ticket.clerk_id is not None else None
        ctx.update(
            ticket=ticket,
            service=service.name if service else "",
            clerk=(clerk.display_name or "") if clerk else "",
        )
    return ctx


@router.get("/window/{window}", response_class=HTMLResponse)
def pad_page(window: int, request: Request, db: SessionDep, state: StateDep) -> Response:
    ctx = _pad_context(db, state, window)
    status_code = 200 if ctx["window_name"] else 404
    return _render(request, state, "ratings/pad.html", status_code, **ctx)


@router.get("/window/{window}/pad", response_class=HTMLResponse)
def pad_fragment(window: int, request: Request, db: SessionDep, state: StateDep) -> Response:
    return _render(request, state, "ratings/_pad.html", **_pad_context(db, state, window))


@router.get("/window/{window}/reasons", response_class=HTMLResponse)
def reasons_fragment(
    window: int, ticket: int, level: int, request: Request, db: SessionDep, state: StateDep
) -> Response:
    ctx = _pad_context(db, state, window)
    current = ctx["ticket"]
    if current is None or current.id != ticket or level not in codes.NEEDS_REASON:
        return _render(request, state, "ratings/_pad.html", **ctx)
    return _render(
        request, state, "ratings/_reasons.html", level=level, level_label=codes.level_label(level),
        error=None, chosen=[], **ctx,
    )  # fmt: skip


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


@router.post("/window/{window}", response_class=HTMLResponse)
def rate(
    window: int,
    request: Request,
    db: SessionDep,
    state: StateDep,
    ticket: Annotated[int, Form()],
    level: Annotated[int, Form()],
    reasons: Annotated[list[str] | None, Form()] = None,
) -> Response:
    if not _same_origin(request):
        return _render(
            request, state, "ratings/_done.html", 403, ok=False, window=window,
            message="请在窗口评价屏上评价",
        )  # fmt: skip
    chosen = reasons or []
    try:
        rating = rate_window(
            db, window=window, level=level, reasons=chosen, channel=RatingChannel.WINDOW_PAD,
            ticket_id=ticket, now=state.clock.now(), settings=state.settings,
        )  # fmt: skip
    except RatingRefused as exc:
        if exc.http_status == 422 and level in codes.NEEDS_REASON:
            # Nothing chosen: ask again on the same screen, keeping what was shown.
            ctx = _pad_context(db, state, window)
            if ctx["ticket"] is not None and ctx["ticket"].id == ticket:
                return _render(
                    request, state, "ratings/_reasons.html", level=level,
                    level_label=codes.level_label(level), error=exc.message, chosen=chosen, **ctx,
                )  # fmt: skip
        return _render(
            request, state, "ratings/_done.html", ok=False, window=window, message=exc.message
        )
    number = db.scalar(select(Ticket.number).where(Ticket.id == rating.ticket_id))
    return _render(
        request, state, "ratings/_done.html", ok=True, window=window,
        message="感谢您的评价！", level_label=codes.level_label(rating.level), number=number,
    )  # fmt: skip
