"""`anxin bench queue-requests`: the CPU one queue request costs inside the hub,
through the whole app (middleware, routing, dependencies, the verb, the
hall-state round and its publishes, the response), with no network client.

`queue-verbs` measures a verb alone; `ticket-throughput` the whole box, load
generator included, and it swings by a fifth between runs. Here the hub app
of one worker (`central.app.create_app`, its lifespan started, publishing to
a private Mosquitto) is called as ASGI, in the process, by the
`ticket-throughput` client's cycle:

    issue a ticket → read a citizen page's status → call next → start → finish

and each request's CPU is the event-loop thread's (``time.thread_time``): a
request runs there from its first byte to its last, verb included (see
`central.queueing.txn`, "Where a verb runs"), and so does the hall-state
round it leaves to the loop's next turn, counted with it. The MQTT client's
network thread is not counted. Best of several rounds, on a fresh SQLite database
holding the 76-window benchmark hall.

Target: a mean of ≤ 0.75 ms per request. `ticket-throughput` asks 2,000
operations/s of two cores, 1 ms of CPU per operation for everything; its
load generator takes ~0.25 ms of that.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, Final

from anxin.settings import Settings, load_settings
from bench.queuehub import (
    ADMIN,
    ADMIN_PASSWORD,
    PATHS,
    SERVICES,
    WINDOWS,
    bench_settings,
    hall_database,
    hub_env,
    issue_tokens,
    service_code,
)
from broker import local

MEAN_TARGET_MS: Final = 0.75

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Asgi = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                Awaitable[None]]  # fmt: skip


async def _call(
    app: Asgi, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request as the server would hand it to the app."""
    data = b"" if body is None else json.dumps(body).encode()
    raw = {"host": "hub", "content-type": "application/json", "content-length": str(len(data)),
           **(headers or {})}  # fmt: skip
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(k.encode(), v.encode()) for k, v in raw.items()],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the client never disconnects
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    status, out_headers, chunks = 0, {}, []

    async def send(message: Message) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, out_headers, b"".join(chunks)


async def _measure(app: Any, tokens: list[str], *, rounds: int, cycles: int) -> dict[str, float]:
    async with app.router.lifespan_context(app):
        status, headers, body = await _call(
            app, "POST", PATHS.login, {"username": ADMIN, "password": ADMIN_PASSWORD}
        )
        if status != 200:
            raise RuntimeError(f"sign-in failed: {status} {body[:200]!r}")
        auth = {
            "cookie": headers["set-cookie"].split(";", 1)[0],
            "x-csrf-token": json.loads(body)["csrf_token"],
        }
        best: dict[str, float] = {}
        done = 0
        for r in range(rounds + 1):  # the first round warms up
            cpu: dict[str, float] = defaultdict(float)
            for _ in range(cycles):
                window = 1 + done % WINDOWS
                service = service_code(SERVICES[(window + 1) % len(SERVICES)])
                steps: tuple[tuple[str, str, str, object], ...] = (
                    ("issue", "POST", PATHS.issue, {"service": service}),
                    ("view", "GET", PATHS.citizen.format(token=tokens[done % len(tokens)]), None),
                    ("next", "POST", PATHS.next.format(n=window), {}),
                    ("start", "POST", PATHS.start.format(n=window), None),
                    ("finish", "POST", PATHS.finish.format(n=window), {"outcome": "completed"}),
                )
                for kind, method, path, payload in steps:
                    t0 = time.thread_time()
                    status, _, body = await _call(app, method, path, payload, auth)
                    # Counted too: what the request left to the loop's next
                    # turn (the hall-state round after a verb), and the hub's
                    # own tasks it woke, as between requests.
                    await asyncio.sleep(0)
                    cpu[kind] += time.thread_time() - t0
                    if status >= 400:
                        raise RuntimeError(f"{kind}: {status} {body[:200]!r}")
                done += 1
            if r == 0:
                continue
            for kind, seconds in cpu.items():
                best[kind] = min(best.get(kind, float("inf")), seconds * 1000 / cycles)
        return best


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    del settings  # the database and broker here are the benchmark's own
    rounds, cycles = (3, 150) if quick else (5, 400)
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as tmp:
        root = Path(tmp)
        proc, port = local.start_mosquitto(root / "mosquitto")
        saved = dict(os.environ)
        try:
            url = f"sqlite:///{root / 'hub.sqlite3'}"
            hall = bench_settings(url, root)
            with hall_database(hall) as sessions:
                tokens = issue_tokens(sessions, hall, 50)
            # The hub's settings as `anxin hub` would read them (bench.queuehub).
            os.environ.update(hub_env(data_dir=root, database_url=url, mqtt_port=port))
            from central.app import create_app

            app = create_app(load_settings())
            per_kind = asyncio.run(_measure(app, tokens, rounds=rounds, cycles=cycles))
        finally:
            os.environ.clear()
            os.environ.update(saved)
            proc.terminate()
            proc.wait(10)
    mean = sum(per_kind.values()) / len(per_kind)
    metrics: dict[str, Any] = {
        "database": "sqlite",
        "rounds": rounds,
        "cycles_per_round": cycles,
        **{f"{kind}_ms_cpu": round(ms, 3) for kind, ms in per_kind.items()},
        "mean_ms_cpu": round(mean, 3),
    }
    return {
        "bench": "queue-requests",
        "metrics": metrics,
        "targets": {"mean_ms_cpu": MEAN_TARGET_MS},
        "pass": mean <= MEAN_TARGET_MS,
    }
