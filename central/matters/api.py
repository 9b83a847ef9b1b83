"""The published matter library for devices and mobile pages: public, cached by ETag.

``GET /api/v1/matters/library.json`` answers the `Library` JSON whose sha256
the retained ``hall/matters`` manifest carries; the ETag is that hash, so a
device that already has it gets 304 Not Modified.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.responses import Response

from central.deps import SessionDep
from central.matters import service

router = APIRouter(prefix="/api/v1/matters", tags=["matters"])

_lock = threading.Lock()
_cache: dict[int, service.LibraryFile] = {}
"""The newest library file per engine (id of its sessionmaker's bind), by revision."""


def current_file(db: SessionDep) -> service.LibraryFile:
    revision = service.revision(db)
    key = id(db.get_bind())
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached.revision == revision:
        return cached
    file = service.library_file(db)
    with _lock:
        _cache[key] = file
    return file


@router.get("/library.json")
def library_json(request: Request, db: SessionDep) -> Response:
    """The published matter library (事项库) as JSON; ETag is its sha256."""
    file = current_file(db)
    etag = f'"{file.sha256}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(file.body, media_type="application/json", headers=headers)
