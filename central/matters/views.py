"""The 事项库 pages: search and list, edit a matter's elements, materials and
situation tree with a preview of every path's checklist, version history with
diffs, publication, the completeness report (要素完备检查), synonyms, and
Excel/JSON import and export. Admins and hall managers only.

Every edit stores a new version (author, time, reason); pages use
post/redirect/get so a reload never resubmits. Utility pages live under
``/matters/_…``: a matter key cannot start with an underscore.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, status
from fastapi import UploadFile as Upload
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.auth.models import ROLE_LABELS, Role, User
from central.deps import CsrfChecked, SessionDep, WriteSessionDep, csrf_token, require_roles
from central.matters import excel, service
from central.matters.completeness import SEVERITY_LABELS, check_library, check_matter
from central.matters.diff import diff, show
from central.matters.labels import MATTER_FIELDS
from central.matters.models import MatterRow
from central.matters.schema import (
    MATTER_TYPE_LABELS,
    CaseKind,
    Library,
    MaterialForm,
    MaterialKind,
    MaterialSource,
    Matter,
    MatterType,
    Necessity,
    TimeUnit,
)
from central.matters.situations import MAX_PATHS, checklist, paths
from central.queueing.models import Service
from central.queueing.period import hall_zone
from central.state import HubState, StateDep


class _Route(APIRoute):
    """Answers 404 for a matter or version that does not exist."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except service.MatterNotFound as exc:
                return HTMLResponse(f"<p>{html.escape(str(exc))}</p>", status.HTTP_404_NOT_FOUND)

        return route


router = APIRouter(tags=["pages"], dependencies=[CsrfChecked], route_class=_Route)

LibraryEditor = Annotated[User, Depends(require_roles(Role.ADMIN, Role.MANAGER))]

MAX_UPLOAD = 20 * 1024 * 1024
PREVIEW_PATHS = 64
_FLASH = "matters_flash"

CHOICES: dict[str, list[str]] = {
    "unit": [u.value for u in TimeUnit],
    "case_kind": [c.value for c in CaseKind],
    "kind": [k.value for k in MaterialKind],
    "form": [f.value for f in MaterialForm],
    "necessity": [n.value for n in Necessity],
    "source": [s.value for s in MaterialSource],
}


def render(
    request: Request, state: HubState, user: User, template: str, status_code: int = 200,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    zone = hall_zone(state.settings.hub.display_timezone)

    def local(value: dt.datetime | None) -> str:
        return "" if value is None else f"{value.astimezone(zone):%Y-%m-%d %H:%M}"

    return state.templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "role_label": ROLE_LABELS[user.role_enum],
            "csrf": csrf_token(request),
            "hall_name": state.settings.hall_name,
            "flash": request.session.pop(_FLASH, None),
            "local": local,
            "show": show,
            "type_labels": {t.value: label for t, label in MATTER_TYPE_LABELS.items()},
            "choices": CHOICES,
            **context,
        },
        status_code=status_code,
    )


def _done(request: Request, text: str, *, ok: bool, to: str) -> RedirectResponse:
    request.session[_FLASH] = {"text": text, "ok": ok}
    return RedirectResponse(to, status.HTTP_303_SEE_OTHER)


def _problems(exc: ValidationError) -> str:
    out = []
    for error in exc.errors():
        parts = [str(p) for p in error["loc"]]
        label = MATTER_FIELDS.get(parts[0], parts[0]) if parts else ""
        out.append(
            f"{label}{'.' + '.'.join(parts[1:]) if len(parts) > 1 else ''}：{excel.reason(error)}"
        )
    return "；".join(out)


async def _text_fields(request: Request) -> dict[str, str]:
    """The form's text fields (an upload field is not text)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


# --- list, search, create --------------------------------------------------------------


def _matches(matter: Matter, words: list[str]) -> bool:
    hay = " ".join(
        [matter.key, matter.name, matter.basic_code, matter.implementation_code,
         matter.handling_code, matter.authority, *matter.keywords]
    ).lower()  # fmt: skip
    return all(w in hay for w in words)


def _listing(db: Session, q: str) -> list[dict[str, Any]]:
    words = q.lower().split()
    out = []
    for row in service.rows(db):
        current = service.version(db, row.key, row.draft_number)
        matter = service.document(current)
        if words and not _matches(matter, words):
            continue
        out.append({
            "row": row, "matter": matter, "version": current,
            "problems": sum(1 for p in check_matter(matter) if p.severity == "error"),
        })  # fmt: skip
    return out


@router.get("/matters", response_class=HTMLResponse)
def matters_page(
    request: Request, db: SessionDep, state: StateDep, user: LibraryEditor, q: str = ""
) -> Response:
    listing = _listing(db, q)
    template = (
        "matters/_list.html"
        if request.headers.get("HX-Request") == "true"
        else "matters/index.html"
    )
    return render(request, state, user, template, q=q, listing=listing,
                  unpublished=service.unpublished(db))  # fmt: skip


@router.post("/matters/_new")
def new_matter(
    request: Request, db: WriteSessionDep, user: LibraryEditor,
    key: Annotated[str, Form(max_length=64)], name: Annotated[str, Form(max_length=200)],
) -> RedirectResponse:  # fmt: skip
    key, name = key.strip(), name.strip()
    if db.scalar(select(MatterRow.key).where(MatterRow.key == key)):
        return _done(request, f"事项标识 {key} 已存在", ok=False, to="/matters")
    try:
        matter = Matter(key=key, name=name)
    except ValidationError as exc:
        return _done(request, "未创建：" + _problems(exc), ok=False, to="/matters")
    service.save_matter(db, matter, author=user.username, reason="新建事项")
    db.commit()
    return _done(request, f"已新建事项“{name}”", ok=True, to=f"/matters/{key}")


# --- one matter ----------------------------------------------------------------------------


def _preview(matter: Matter) -> list[dict[str, Any]]:
    out = []
    for answers in paths(matter):
        result = checklist(matter, answers)
        out.append({"result": result, "route": [(q.text, o.label) for q, o in result.answers]})
        if len(out) >= PREVIEW_PATHS:
            break
    return out


def _edit(
    request: Request, db: Session, user: User, key: str, reason: str, what: str, anchor: str,
    change: Callable[[dict[str, Any]], str | None],
) -> RedirectResponse:  # fmt: skip
    """Apply `change` to the draft's document and store it as a new version;
    `change` returns a Chinese reason to refuse, or None."""
    to = f"/matters/{key}#{anchor}"
    doc = service.draft(db, key).model_dump(mode="json")
    refused = change(doc)
    if refused:
        return _done(request, f"未保存：{refused}", ok=False, to=to)
    try:
        matter = Matter.model_validate(doc)
    except ValidationError as exc:
        return _done(request, "未保存：" + _problems(exc), ok=False, to=to)
    before = service.matter_row(db, key).draft_number
    saved = service.save_matter(db, matter, author=user.username, reason=reason.strip() or what)
    db.commit()
    if saved.number == before:
        return _done(request, "内容没有变化，未生成新版本", ok=True, to=to)
    return _done(request, f"已保存为第 {saved.number} 版：{what}", ok=True, to=to)


def _limit(amount: str, unit: str) -> dict[str, Any] | None:
    amount = amount.strip()
    if not amount:
        return None
    return {"amount": int(amount) if amount.isdigit() else amount, "unit": unit}


@router.post("/matters/{key}/elements")
async def save_elements(
    request: Request, key: str, db: WriteSessionDep, user: LibraryEditor
) -> Response:
    f = await _text_fields(request)

    def change(doc: dict[str, Any]) -> None:
        for field in ("name", "basic_code", "implementation_code", "handling_code", "legal_basis",
                      "authority", "authority_credit_code", "audience", "location", "hours",
                      "consultation", "complaint", "result_name", "result_sample", "service",
                      "matter_type", "case_kind"):  # fmt: skip
            if field in f:
                doc[field] = f[field].strip()
        for field in ("conditions", "procedure", "keywords"):
            if field in f:
                doc[field] = _lines(f[field])
        for field in ("visits", "daily_bookings"):
            if field in f:
                value = f[field].strip()
                doc[field] = int(value) if value.isdigit() else value
        for field in ("online", "bookable"):
            doc[field] = f.get(field) == "true"
        doc["legal_limit"] = _limit(f.get("legal_amount", ""), f.get("legal_unit", "工作日"))
        doc["promised_limit"] = _limit(
            f.get("promised_amount", ""), f.get("promised_unit", "工作日")
        )
        doc["fee"] = {
            "charged": f.get("fee_charged") == "true",
            "basis": f.get("fee_basis", "").strip(),
            "description": f.get("fee_description", "").strip(),
        }
        return None

    return _edit(request, db, user, key, f.get("reason", ""), "修改事项要素", "elements", change)


@router.post("/matters/{key}/materials")
async def save_material(
    request: Request, key: str, db: WriteSessionDep, user: LibraryEditor
) -> Response:
    f = await _text_fields(request)
    mkey = f.get("key", "").strip()
    original = f.get("original", "").strip()

    def change(doc: dict[str, Any]) -> str | None:
        materials = doc["materials"]
        keys = [m["key"] for m in materials]
        if mkey != original and mkey in keys:
            return f"材料标识 {mkey} 已存在"
        copies = f.get("copies", "1").strip()
        material = {
            "key": mkey, "name": f.get("name", "").strip(),
            "kind": f.get("kind", MaterialKind.ORIGINAL.value),
            "form": f.get("form", MaterialForm.PAPER.value),
            "copies": int(copies) if copies.isdigit() else copies,
            "spec": f.get("spec", "").strip(), "necessity": f.get("necessity", "必要"),
            "source": f.get("source", "申请人自备"),
            "source_note": f.get("source_note", "").strip(),
            "blank_form": f.get("blank_form", "").strip(),
            "sample_form": f.get("sample_form", "").strip(),
            "fill_notes": f.get("fill_notes", "").strip(),
            "acceptance_standard": f.get("acceptance_standard", "").strip(),
            "basis": f.get("basis", "").strip(),
        }  # fmt: skip
        if original and original in keys:
            materials[keys.index(original)] = material
            if original != mkey:
                _rename_material(doc, original, mkey)
        else:
            materials.append(material)
        base = [k for k in doc["base_materials"] if k != mkey]
        doc["base_materials"] = [*base, mkey] if f.get("base") == "true" else base
        return None

    what = f"修改材料“{f.get('name', '')}”" if original else f"新增材料“{f.get('name', '')}”"
    return _edit(request, db, user, key, f.get("reason", ""), what, f"mat-{mkey}", change)


def _rename_material(doc: dict[str, Any], old: str, new: str) -> None:
    doc["base_materials"] = [new if k == old else k for k in doc["base_materials"]]
    for q in doc["questions"]:
        for o in q["options"]:
            for field in ("add_materials", "remove_materials"):
                o[field] = [new if k == old else k for k in o[field]]


@router.post("/matters/{key}/materials/{mkey}/delete")
def delete_material(
    request: Request, key: str, mkey: str, db: WriteSessionDep, user: LibraryEditor,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:  # fmt: skip
    def change(doc: dict[str, Any]) -> None:
        doc["materials"] = [m for m in doc["materials"] if m["key"] != mkey]
        doc["base_materials"] = [k for k in doc["base_materials"] if k != mkey]
        for q in doc["questions"]:
            for o in q["options"]:
                for field in ("add_materials", "remove_materials"):
                    o[field] = [k for k in o[field] if k != mkey]

    return _edit(request, db, user, key, reason, f"删除材料 {mkey}", "materials", change)


@router.post("/matters/{key}/questions")
async def save_question(
    request: Request, key: str, db: WriteSessionDep, user: LibraryEditor
) -> Response:
    f = await _text_fields(request)
    qkey = f.get("key", "").strip()
    original = f.get("original", "").strip()

    def change(doc: dict[str, Any]) -> str | None:
        questions = doc["questions"]
        keys = [q["key"] for q in questions]
        if qkey != original and qkey in keys:
            return f"问题标识 {qkey} 已存在"
        if original in keys:
            question = questions[keys.index(original)]
            question.update(
                key=qkey, text=f.get("text", "").strip(), help=f.get("help", "").strip()
            )
            if original != qkey:
                doc["root"] = [qkey if k == original else k for k in doc["root"]]
                for q in questions:
                    for o in q["options"]:
                        o["next"] = [qkey if k == original else k for k in o["next"]]
        else:
            options = []
            for line in _lines(f.get("options", "")):
                okey, _, label = line.partition(" ")
                options.append({"key": okey, "label": label.strip() or okey})
            questions.append({"key": qkey, "text": f.get("text", "").strip(),
                              "help": f.get("help", "").strip(), "options": options})  # fmt: skip
        root = [k for k in doc["root"] if k != qkey]
        doc["root"] = [*root, qkey] if f.get("root") == "true" else root
        return None

    what = f"修改问题“{f.get('text', '')}”" if original else f"新增问题“{f.get('text', '')}”"
    return _edit(request, db, user, key, f.get("reason", ""), what, f"q-{qkey}", change)


@router.post("/matters/{key}/questions/{qkey}/delete")
def delete_question(
    request: Request, key: str, qkey: str, db: WriteSessionDep, user: LibraryEditor,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:  # fmt: skip
    def change(doc: dict[str, Any]) -> None:
        doc["questions"] = [q for q in doc["questions"] if q["key"] != qkey]
        doc["root"] = [k for k in doc["root"] if k != qkey]
        for q in doc["questions"]:
            for o in q["options"]:
                o["next"] = [k for k in o["next"] if k != qkey]

    return _edit(request, db, user, key, reason, f"删除问题 {qkey}", "situations", change)


@router.post("/matters/{key}/questions/{qkey}/options")
async def save_option(
    request: Request, key: str, qkey: str, db: WriteSessionDep, user: LibraryEditor
) -> Response:
    form = await request.form()  # several values per name here (checkbox lists)
    f = {k: v for k, v in form.items() if isinstance(v, str)}
    okey = f.get("key", "").strip()
    original = f.get("original", "").strip()

    def many(name: str) -> list[str]:
        return [v for v in form.getlist(name) if isinstance(v, str)]

    def change(doc: dict[str, Any]) -> str | None:
        found = [q for q in doc["questions"] if q["key"] == qkey]
        if not found:
            return f"问题 {qkey} 不存在"
        options = found[0]["options"]
        keys = [o["key"] for o in options]
        if okey != original and okey in keys:
            return f"选项标识 {okey} 已存在"
        fee = None
        if f.get("fee_charged") in ("true", "false"):
            fee = {"charged": f["fee_charged"] == "true", "basis": f.get("fee_basis", "").strip(),
                   "description": f.get("fee_description", "").strip()}  # fmt: skip
        option = {
            "key": okey, "label": f.get("label", "").strip(),
            "add_materials": many("add_materials"), "remove_materials": many("remove_materials"),
            "add_conditions": _lines(f.get("add_conditions", "")), "fee": fee,
            "promised_limit": _limit(
                f.get("promised_amount", ""), f.get("promised_unit", "工作日")
            ),
            "next": [k for k in many("next") if k != qkey],
        }  # fmt: skip
        if original in keys:
            options[keys.index(original)] = option
        else:
            options.append(option)
        return None

    label = f.get("label", "")
    what = f"修改选项“{label}”" if original else f"新增选项“{label}”"
    return _edit(request, db, user, key, f.get("reason", ""), what, f"q-{qkey}", change)


@router.post("/matters/{key}/questions/{qkey}/options/{okey}/delete")
def delete_option(
    request: Request, key: str, qkey: str, okey: str, db: WriteSessionDep, user: LibraryEditor,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:  # fmt: skip
    def change(doc: dict[str, Any]) -> str | None:
        for q in doc["questions"]:
            if q["key"] == qkey:
                if len(q["options"]) <= 1:
                    return "每个问题至少要有一个选项；如不需要这个问题，请删除问题"
                q["options"] = [o for o in q["options"] if o["key"] != okey]
        return None

    return _edit(request, db, user, key, reason, f"删除选项 {qkey}.{okey}", f"q-{qkey}", change)


@router.post("/matters/{key}/publish")
def publish_matter(
    request: Request, key: str, db: WriteSessionDep, user: LibraryEditor
) -> Response:
    row = service.matter_row(db, key)
    if row.published_number == row.draft_number:
        return _done(
            request, f"第 {row.draft_number} 版已经是发布版本", ok=True, to=f"/matters/{key}"
        )
    version = service.publish(db, key, author=user.username)
    db.commit()
    text = f"已发布第 {version.number} 版，自助终端和手机页面将立即使用新内容"
    return _done(request, text, ok=True, to=f"/matters/{key}")


# --- history and diff -----------------------------------------------------------------------


@router.get("/matters/{key}/versions", response_class=HTMLResponse)
def versions_page(
    request: Request, key: str, db: SessionDep, state: StateDep, user: LibraryEditor
) -> Response:
    row = service.matter_row(db, key)
    history = service.versions(db, key)
    return render(request, state, user, "matters/versions.html", row=row, history=history)


@router.get("/matters/{key}/diff", response_class=HTMLResponse)
def diff_page(
    request: Request, key: str, db: SessionDep, state: StateDep, user: LibraryEditor,
    a: int = 0, b: int = 0,
) -> Response:  # fmt: skip
    row = service.matter_row(db, key)
    b = b or row.draft_number
    a = a or max(1, b - 1)
    if a > b:
        a, b = b, a
    old, new = service.version(db, key, a), service.version(db, key, b)
    changes = diff(service.document(old), service.document(new))
    return render(request, state, user, "matters/diff.html", row=row, old=old, new=new,
                  changes=changes)  # fmt: skip


# --- library-wide pages ----------------------------------------------------------------------


@router.get("/matters/_check", response_class=HTMLResponse)
def check_page(request: Request, db: SessionDep, state: StateDep, user: LibraryEditor) -> Response:
    library = service.draft_library(db)
    codes = list(db.scalars(select(Service.code).where(Service.active)))
    report = check_library(library, service_codes=codes or None)
    return render(request, state, user, "matters/check.html", report=report)


@router.post("/matters/_publish")
def publish_everything(request: Request, db: WriteSessionDep, user: LibraryEditor) -> Response:
    keys = service.publish_all(db, author=user.username)
    db.commit()
    return _done(request, f"已发布 {len(keys)} 个事项的最新版本", ok=True, to="/matters")


def _synonym_text(synonyms: dict[str, tuple[str, ...]]) -> str:
    return "\n".join(f"{word} = {'、'.join(words)}" for word, words in synonyms.items())


def _parse_synonyms(text: str) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    out: dict[str, tuple[str, ...]] = {}
    bad = []
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        word, sep, rest = line.partition("=")
        word = word.strip()
        if not sep or not word:
            bad.append(f"第 {n} 行应写成“词语 = 同义词1、同义词2”")
            continue
        words = tuple(w.strip() for w in re.split(r"[、,，;；]", rest) if w.strip())
        out[word] = tuple(dict.fromkeys([*out.get(word, ()), *words]))
    return out, bad


@router.get("/matters/_synonyms", response_class=HTMLResponse)
def synonyms_page(
    request: Request, db: SessionDep, state: StateDep, user: LibraryEditor
) -> Response:
    _faqs, synonyms = service.extras(db)
    history = service.extras_history(db)[:20]
    return render(request, state, user, "matters/synonyms.html", text=_synonym_text(synonyms),
                  count=len(synonyms), history=history)  # fmt: skip


@router.post("/matters/_synonyms")
def save_synonyms(
    request: Request, db: WriteSessionDep, user: LibraryEditor,
    text: Annotated[str, Form(max_length=500_000)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:  # fmt: skip
    synonyms, bad = _parse_synonyms(text)
    if bad:
        return _done(request, "未保存：" + "；".join(bad), ok=False, to="/matters/_synonyms")
    faqs, _old = service.extras(db)
    changed = service.save_extras(db, faqs=faqs, synonyms=synonyms, author=user.username,
                                  reason=reason.strip() or "修改同义词", publish=True)  # fmt: skip
    db.commit()
    text_out = f"已保存并发布 {len(synonyms)} 组同义词" if changed else "同义词没有变化"
    return _done(request, text_out, ok=True, to="/matters/_synonyms")


# --- import and export ------------------------------------------------------------------------


@router.get("/matters/_export.{fmt}")
def export(fmt: str, db: SessionDep, state: StateDep, _user: LibraryEditor) -> Response:
    library = service.draft_library(db)
    today = dt.datetime.now(hall_zone(state.settings.hub.display_timezone)).date()
    name = f"matters-{today:%Y%m%d}.{fmt}"
    try:
        body = excel.dump(name, library)
    except excel.ExportError as exc:
        return Response(str(exc), status_code=422, media_type="text/plain; charset=utf-8")
    media = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if fmt == "xlsx"
        else "application/json"
    )
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.post("/matters/_import", response_class=HTMLResponse)
def import_page(
    request: Request, db: WriteSessionDep, state: StateDep, user: LibraryEditor,
    file: Annotated[Upload, File()],
    reason: Annotated[str, Form(max_length=500)] = "",
    publish: Annotated[bool, Form()] = False,
) -> HTMLResponse:  # fmt: skip
    data = file.file.read(MAX_UPLOAD + 1)
    name = file.filename or ""
    problems: list[str] = []
    result = service.ImportResult()
    if len(data) > MAX_UPLOAD:
        problems = ["文件过大（超过 20 MB）"]
    else:
        try:
            library: Library = excel.load(name, data)
        except excel.LibraryFileInvalid as exc:
            problems = [str(p) for p in exc.problems]
        else:
            result = service.import_library(db, library, author=user.username,
                                            reason=reason.strip() or f"导入 {name}",
                                            publish=publish)  # fmt: skip
            problems = result.problems
    if problems:
        db.rollback()
    else:
        db.commit()
    return render(request, state, user, "matters/import_result.html",
                  status_code=422 if problems else 200, problems=problems, result=result,
                  filename=name)  # fmt: skip


# Last: /matters/{key} would otherwise catch /matters/_check and the other utility pages.
@router.get("/matters/{key}", response_class=HTMLResponse)
def matter_page(
    request: Request, key: str, db: SessionDep, state: StateDep, user: LibraryEditor
) -> Response:
    row = service.matter_row(db, key)
    current = service.version(db, key, row.draft_number)
    matter = service.document(current)
    return render(
        request, state, user, "matters/edit.html", row=row, version=current, matter=matter,
        preview=_preview(matter), max_paths=min(PREVIEW_PATHS, MAX_PATHS),
        problems=check_matter(matter), severity_labels=SEVERITY_LABELS,
        types=[(t.value, MATTER_TYPE_LABELS[t]) for t in MatterType],
    )  # fmt: skip
