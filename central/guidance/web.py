"""The public guidance pages (智能导办 on a phone; no sign-in).

- ``GET /guide?q=…``: a search box (Chinese or pinyin) and the ranked
  matters and FAQ answers; with htmx only the results are swapped.
- ``GET /guide/{key}?a=question:option&…``: one question at a time, each
  answer a plain link (htmx swaps the step and pushes the URL, without
  JavaScript the link simply loads the next page); once every question is
  answered, the checklist with the recommended queue and the actions.
- ``GET /guide/{key}/checklist?a=…``: the printable checklist with a QR code
  of its own address (扫码带走).

Taking a ticket posts ``{service, matter}`` as JSON to the public issuing
endpoint (``POST /api/v1/public/tickets``) from static/guide.js; appointments
do not exist yet, so the button is shown disabled (暂未开放).
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from central.deps import SessionDep
from central.guidance.flow import AnswerError, Step, decode_answers, encode_answers, step
from central.guidance.loader import LOADER, Loaded
from central.guidance.qr import qr_svg
from central.guidance.routing import route
from central.matters.schema import MATTER_TYPE_LABELS, Matter
from central.queueing.clock import local_time, operating_day
from central.state import StateDep

router = APIRouter(tags=["guidance"])

TICKET_ENDPOINT: Final = "/api/v1/public/tickets"
RESULTS_SHOWN: Final = 8
BROWSE_SHOWN: Final = 12
_HEADERS: Final = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _is_fragment(request: Request) -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _with_answers(path: str, answers: dict[str, str]) -> str:
    query = urlencode({"a": encode_answers(answers)}, doseq=True)
    return f"{path}?{query}" if query else path


def _step_url(key: str, answers: dict[str, str]) -> str:
    return _with_answers(f"/guide/{key}", answers)


def _option_urls(s: Step) -> dict[str, str]:
    if s.question is None:
        return {}
    return {
        o.key: _step_url(s.matter.key, {**s.answers, s.question.key: o.key})
        for o in s.question.options
    }


def _base(state: StateDep, loaded: Loaded) -> dict[str, Any]:
    return {"hall_name": state.settings.hall_name, "demo": loaded.library.demo}


@router.get("/guide", response_class=HTMLResponse, include_in_schema=False)
def guide_search(
    request: Request, db: SessionDep, state: StateDep, q: str = Query("", max_length=100)
) -> Response:
    loaded = LOADER.get(db)
    answer = loaded.index.ask(q, limit=RESULTS_SHOWN) if q.strip() else None
    ctx = {
        **_base(state, loaded),
        "q": q,
        "answer": answer,
        "browse": loaded.library.matters[:BROWSE_SHOWN],
        "faqs": loaded.library.faqs[:6],
        "by_key": loaded.index.by_key,
        "empty_library": not loaded.library.matters,
    }
    name = "guide/_results.html" if _is_fragment(request) else "guide/search.html"
    return state.templates.TemplateResponse(request, name, ctx, headers=_HEADERS)


def _not_found(request: Request, state: StateDep, loaded: Loaded) -> Response:
    return state.templates.TemplateResponse(
        request, "guide/not_found.html", _base(state, loaded), status_code=404, headers=_HEADERS
    )


def _walk(matter: Matter, a: list[str]) -> tuple[Step, bool]:
    """The step of the answers in the URL; (first step, True) when they are stale."""
    try:
        return step(matter, decode_answers(a)), False
    except AnswerError:
        return step(matter, {}), True


@router.get("/guide/{key}", response_class=HTMLResponse, include_in_schema=False)
def guide_matter(
    key: str,
    request: Request,
    db: SessionDep,
    state: StateDep,
    a: Annotated[list[str] | None, Query(max_length=40)] = None,
) -> Response:
    loaded = LOADER.get(db)
    matter = loaded.index.matter(key)
    if matter is None:
        return _not_found(request, state, loaded)
    current, stale = _walk(matter, a or [])
    ctx: dict[str, Any] = {
        **_base(state, loaded),
        "matter": matter,
        "type_label": MATTER_TYPE_LABELS.get(matter.matter_type, ""),
        "step": current,
        "stale": stale,
        "option_urls": _option_urls(current),
        "back_urls": [_step_url(key, x.back) for x in current.answered],
        "restart_url": _step_url(key, {}),
        "checklist_url": _with_answers(f"/guide/{key}/checklist", current.answers),
        "ticket_endpoint": TICKET_ENDPOINT,
        "route": None,
    }
    if current.done:
        now = state.clock.now()
        day = operating_day(now, state.settings.queue)
        ctx["route"] = route(db, loaded.library, matter, day=day, now=now)
    name = "guide/_step.html" if _is_fragment(request) else "guide/matter.html"
    return state.templates.TemplateResponse(request, name, ctx, headers=_HEADERS)


@router.get("/guide/{key}/checklist", response_class=HTMLResponse, include_in_schema=False)
def guide_checklist(
    key: str,
    request: Request,
    db: SessionDep,
    state: StateDep,
    a: Annotated[list[str] | None, Query(max_length=40)] = None,
) -> Response:
    loaded = LOADER.get(db)
    matter = loaded.index.matter(key)
    if matter is None:
        return _not_found(request, state, loaded)
    current, stale = _walk(matter, a or [])
    if not current.done:
        # Not every question answered: the walk goes on where it stopped.
        return Response(status_code=303, headers={"Location": _step_url(key, current.answers)})
    own_url = str(request.url)
    ctx = {
        **_base(state, loaded),
        "matter": matter,
        "step": current,
        "stale": stale,
        "qr": qr_svg(own_url, size_px=168, title="扫码查看办事清单"),
        "url": own_url,
        "printed": local_time(state.clock.now(), state.settings.queue).strftime(
            "%Y年%m月%d日 %H:%M"
        ),
        "guide_url": _step_url(key, current.answers),
    }
    return state.templates.TemplateResponse(request, "guide/checklist.html", ctx, headers=_HEADERS)
