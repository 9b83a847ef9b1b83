"""The ceiling of `anxin bench ticket-throughput` on this machine: a hub that
does no queue work at all.

It answers the benchmark's five routes with small JSON bodies shaped like the
real hub's, from async endpoints (no thread-pool hop), served like the real
hub: uvicorn with httptools and uvloop, two worker processes. Driven by the
same load generator on the same cores, it measures what HTTP, FastAPI and the
load generator alone cost; the real hub can only be slower. Run in the same
benchmark run as the real hub, so both figures come from the same machine in
the same state.
"""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import FastAPI

from bench.queuehub import PATHS

app = FastAPI(title="anxin bench null hub")
_ids = itertools.count(1)


@app.get("/healthz")
async def healthz() -> dict[str, Any]:
    return {"ok": True}


@app.post(PATHS.login)
async def login() -> dict[str, Any]:
    return {"csrf_token": "null"}


@app.post(PATHS.issue)
async def issue(body: dict[str, Any]) -> dict[str, Any]:
    return {"id": next(_ids), "number": "A001", "service": body.get("service"), "ahead": 0}


@app.get(PATHS.citizen)
async def citizen(token: str) -> dict[str, Any]:
    return {"token": token, "state": "waiting", "ahead": 0}


@app.post(PATHS.next)
async def call_next(n: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"window": n, "ticket": {"id": next(_ids), "number": "A001", "state": "called"}}


@app.post(PATHS.start)
async def start(n: int) -> dict[str, Any]:
    return {"window": n, "ticket": {"id": 0, "state": "serving"}}


@app.post(PATHS.finish)
async def finish(n: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"window": n, "ticket": {"id": 0, "state": "done"}, "outcome": body.get("outcome")}
