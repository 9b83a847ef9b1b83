"""Taking a ticket without signing in: the citizen's phone (取号 on the guide
and mobile pages). Kiosks are devices and issue over MQTT instead.

    POST /api/v1/public/tickets   {service, matter?, phone?}

JSON in, JSON out (201: number, people ahead, estimated wait, the citizen
page's path); a plain HTML form (no JavaScript) gets a redirect to the
ticket's page instead, or an error page with the reason.

What stops abuse without a login:
- the hall can switch it off (``queue.public_issuing``);
- one open ticket per service per phone number, or per browser when no
  number is given (a random id in a signed cookie, as the "holder");
- at most ``queue.public_per_address_per_hour`` tickets per client address
  (moving window, per hub process); generous, because the whole hall's
  Wi-Fi may share one address;
- every other rule of issuing holds (hours, daily cap, closing time).
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from limits import RateLimitItemPerHour
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from central.deps import SessionDep
from central.queueing import service
from central.queueing.errors import QueueError
from central.queueing.estimator import estimate_ticket
from central.queueing.models import Channel
from central.state import HubState, StateDep

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/public", tags=["public"])

HOLDER_KEY = "holder"  # in the signed session cookie


class PublicIssueIn(BaseModel):
    service: Annotated[str, Field(min_length=1, max_length=32, description="service code")]
    matter: str | None = Field(None, max_length=64, description="matter key, for reports")
    phone: str | None = Field(None, max_length=20, description="mobile number for SMS reminders")


class PublicTicketOut(BaseModel):
    number: str
    service: str
    ahead: int = Field(description="people ahead now")
    minutes: int | None = Field(description="estimated wait in minutes; None when unknown")
    citizen_path: str = Field(description="the live ticket page (办事一码通)")


def _holder(request: Request) -> str:
    holder = request.session.get(HOLDER_KEY)
    if not isinstance(holder, str):
        holder = secrets.token_urlsafe(16)
        request.session[HOLDER_KEY] = holder
    return holder


def _refuse(form: bool, status: int, text: str, request: Request, state: HubState) -> Response:
    if form:
        return state.templates.TemplateResponse(
            request,
            "citizen/refused.html",
            {"hall_name": state.settings.hall_name, "text": text},
            status_code=status,
        )
    return JSONResponse({"detail": text}, status_code=status)


@router.post(
    "/tickets",
    status_code=201,
    response_model=PublicTicketOut,
    responses={
        403: {"description": "线上取号未开放"},
        404: {"description": "业务不存在"},
        409: {"description": "已有该业务的有效号码，或不在取号时间"},
        422: {"description": "输入有误"},
        429: {"description": "取号过于频繁"},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": PublicIssueIn.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": PublicIssueIn.model_json_schema()},
            },
            "required": True,
        }
    },
)
async def issue_public(request: Request, db: SessionDep, state: StateDep) -> Response:
    form = request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )
    raw: Any
    try:
        raw = dict(await request.form()) if form else await request.json()
        body = PublicIssueIn.model_validate(raw)
    except (ValueError, ValidationError) as exc:
        log.info("public ticket refused: bad request: %s", exc)
        return _refuse(form, 422, "请求内容有误，请返回重试", request, state)
    if not state.settings.queue.public_issuing:
        return _refuse(form, 403, "本大厅暂未开放手机取号，请到大厅取号机取号", request, state)
    address = request.client.host if request.client else "unknown"
    per_hour = RateLimitItemPerHour(state.settings.queue.public_per_address_per_hour)
    if not state.rate_limits.hit(per_hour, "public-ticket", address):
        log.warning("public tickets from %s over the hourly limit", address)
        return _refuse(form, 429, "取号过于频繁，请稍后再试", request, state)
    holder = _holder(request)
    phone = body.phone.strip() if body.phone and body.phone.strip() else None

    now = state.clock.now()

    def issue() -> PublicTicketOut:
        ticket = service.issue(
            db,
            service=body.service,
            channel=Channel.MOBILE,
            phone=phone,
            citizen_id=phone,
            holder=holder,
            bus=state.queue_bus,
            settings=state.settings,
            now=now,
        )
        # Reads after the verb's commit, as the API's issue route reads them.
        with state.read_sessions() as reads:
            estimate = estimate_ticket(reads, ticket, now=now, recent=True)
            name = service.service_by_code(reads, body.service).name
        return PublicTicketOut(
            number=ticket.number,
            service=name,
            ahead=estimate.ahead,
            minutes=estimate.shown_minutes,
            citizen_path=f"/t/{ticket.token}",
        )

    try:
        out = await run_in_threadpool(issue)
    except QueueError as exc:
        return _refuse(form, exc.http_status, exc.message, request, state)
    log.info("public ticket %s (%s, matter %s)", out.number, body.service, body.matter or "-")
    if form:
        return RedirectResponse(out.citizen_path, status_code=303)
    return JSONResponse(out.model_dump(), status_code=201)
