"""Rating a finished ticket (好差评), and what a window has left to rate.

Rules (each refusal is a `RatingRefused` with a Chinese message, and changes
nothing):

- only a finished ticket (办结, state ``done``) is rated;
- one rating per ticket: a second one is refused, also when two hub workers
  race (the table's unique constraint decides);
- a level of 1–2 (差评) needs at least one reason code from `codes.REASONS`
  (`codes.UNSPECIFIED_PAD` only from the caller box's buttons);
- a window's rating device (touch page or caller buttons) rates only the
  ticket that window finished last, within `RATE_WITHIN` of finishing; a
  device cannot reach back to an earlier citizen's ticket.

Writes run in their own write transaction (`locking.run_write`: ``BEGIN
IMMEDIATE`` on SQLite, bounded retries), like the queue verbs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.settings import Settings
from central.queueing import locking
from central.queueing.clock import operating_day
from central.queueing.models import KioskRequest, Ticket, TicketState, Window
from central.ratings import codes
from central.ratings.codes import RatingChannel
from central.ratings.models import Rating

# A window's device may rate its last finished ticket for this long.
RATE_WITHIN: Final = dt.timedelta(minutes=10)
MAX_COMMENT: Final = 200
MAX_CHAIN: Final = 10


class RatingRefused(Exception):
    """The rating was not stored; `message` (Chinese) says why."""

    http_status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AlreadyRated(RatingRefused):
    pass


class NothingToRate(RatingRefused):
    http_status = 404


class BadRating(RatingRefused):
    """Input no rating can have: a level outside 1–5, a 差评 without reasons."""

    http_status = 422


ALREADY: Final = "该号码已评价，每个号码只能评价一次"


def check(level: int, reasons: Iterable[str], channel: str) -> list[str]:
    """The reason codes to store, or `BadRating` saying what is missing."""
    if level not in codes.LEVELS:
        raise BadRating("评价等级应为 1 至 5（非常不满意至非常满意）")
    if channel not in {c.value for c in RatingChannel}:
        raise BadRating(f"未知的评价渠道 {channel!r}")
    chosen = list(dict.fromkeys(r for r in reasons if r))
    allowed = dict(codes.REASONS)
    if channel == RatingChannel.CALLER.value:
        allowed[codes.UNSPECIFIED_PAD] = codes.REASON_LABELS[codes.UNSPECIFIED_PAD]
    unknown = [r for r in chosen if r not in allowed]
    if unknown:
        listing = "、".join(f"{k}（{v}）" for k, v in codes.REASONS.items())
        raise BadRating(f"未知的不满意原因 {'、'.join(unknown)}，可选：{listing}")
    if level in codes.NEEDS_REASON and not chosen:
        raise BadRating(f"“{codes.level_label(level)}”请至少选择一项原因")
    # Reasons explain a 差评; a good rating keeps none.
    return chosen if level in codes.NEEDS_REASON else []


def _matter(session: Session, ticket: Ticket) -> str | None:
    """The matter named when the ticket (or the one it was transferred from) was taken."""
    current: Ticket | None = ticket
    for _ in range(MAX_CHAIN):
        if current is None:
            return None
        matter = session.scalar(
            select(KioskRequest.matter).where(
                KioskRequest.ticket_id == current.id, KioskRequest.matter.is_not(None)
            )
        )
        if matter:
            return matter
        if current.transferred_from_id is None:
            return None
        current = session.get(Ticket, current.transferred_from_id)
    return None


def _insert(
    session: Session,
    ticket: Ticket,
    *,
    level: int,
    reasons: list[str],
    comment: str | None,
    channel: str,
    device_id: str | None,
    now: dt.datetime,
) -> Rating:
    if ticket.state != TicketState.DONE.value:
        raise RatingRefused(f"号码 {ticket.number} 尚未办结，办结后才能评价")
    if session.scalar(select(Rating.id).where(Rating.ticket_id == ticket.id)) is not None:
        raise AlreadyRated(ALREADY)
    text = (comment or "").strip()[:MAX_COMMENT] or None
    rating = Rating(
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        day=ticket.day,
        service_id=ticket.service_id,
        matter=_matter(session, ticket),
        window_id=ticket.window_id,
        clerk_id=ticket.clerk_id,
        channel=channel,
        device_id=device_id,
        level=level,
        reasons=reasons,
        comment=text,
        rated_at=now,
    )
    session.add(rating)
    session.flush()
    return rating


def _write(session: Session, work: Callable[[], Rating]) -> Rating:
    try:
        return locking.run_write(session, work)
    except IntegrityError:
        # Another worker stored this ticket's rating between our check and insert.
        raise AlreadyRated(ALREADY) from None


def rate_ticket(
    session: Session,
    *,
    ticket_id: int,
    level: int,
    reasons: Iterable[str] = (),
    comment: str | None = None,
    channel: str,
    device_id: str | None = None,
    now: dt.datetime,
) -> Rating:
    """Rate one ticket by id (the citizen's own page, the API)."""
    chosen = check(level, reasons, channel)

    def work() -> Rating:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NothingToRate(f"没有编号为 {ticket_id} 的号票")
        return _insert(
            session, ticket, level=level, reasons=chosen, comment=comment, channel=channel,
            device_id=device_id, now=now,
        )  # fmt: skip

    return _write(session, work)


@dataclass(frozen=True)
class Pending:
    """The ticket a window's rating device offers, or why there is none."""

    ticket: Ticket | None
    rated: Rating | None = None


def _window_id(session: Session, number: int) -> int:
    wid = session.scalar(select(Window.id).where(Window.number == number, Window.active.is_(True)))
    if wid is None:
        raise NothingToRate(f"没有 {number} 号窗口")
    return wid


def last_finished(
    session: Session, *, window: int, now: dt.datetime, settings: Settings
) -> Pending:
    """The ticket the window ended last today, when it is done, finished within
    `RATE_WITHIN` and not rated yet; else ``Pending(None)`` (with the rating
    when it is the ticket just rated)."""
    wid = _window_id(session, window)
    day = operating_day(now, settings.queue)
    last = session.scalar(
        select(Ticket)
        .where(Ticket.day == day, Ticket.window_id == wid, Ticket.ended_at.is_not(None))
        .order_by(Ticket.ended_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    if last is None or last.state != TicketState.DONE.value or last.ended_at is None:
        return Pending(None)
    if now - last.ended_at > RATE_WITHIN:
        return Pending(None)
    rated = session.scalar(select(Rating).where(Rating.ticket_id == last.id))
    if rated is not None:
        return Pending(None, rated)
    return Pending(last)


def rate_window(
    session: Session,
    *,
    window: int,
    level: int,
    reasons: Iterable[str] = (),
    comment: str | None = None,
    channel: str,
    device_id: str | None = None,
    ticket_id: int | None = None,
    now: dt.datetime,
    settings: Settings,
) -> Rating:
    """Rate the ticket window `window` finished last (see `last_finished`).

    `ticket_id`: the ticket the rating screen showed; refused when the window
    has moved on since, so a tap never lands on the next citizen's ticket.
    """
    chosen = check(level, reasons, channel)

    def work() -> Rating:
        pending = last_finished(session, window=window, now=now, settings=settings)
        if pending.ticket is None:
            if pending.rated is not None and ticket_id in (None, pending.rated.ticket_id):
                raise AlreadyRated(ALREADY)
            raise NothingToRate(f"{window} 号窗口当前没有待评价的办件（办结后 10 分钟内可评价）")
        if ticket_id is not None and pending.ticket.id != ticket_id:
            raise NothingToRate("该评价页面已过期，请对最新办结的业务评价")
        locked = locking.lock_ticket(session, pending.ticket.id)
        assert locked is not None
        return _insert(
            session, locked, level=level, reasons=chosen, comment=comment, channel=channel,
            device_id=device_id, now=now,
        )  # fmt: skip

    return _write(session, work)
