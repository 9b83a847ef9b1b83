"""`anxin bench ticket-throughput`: queue operations per second through the hub's HTTP API.

For each database (SQLite, then PostgreSQL when reachable): a fresh database
with a 76-window hall (`bench.queuehub`), a private Mosquitto, and the hub
run as **two uvicorn worker processes** sharing the database, as a hall
would run it on a 2-core box. Then, for 10 and then 50 concurrent clients
(each a window: a closed loop with no think time), every client repeats

    issue a ticket (kiosk) → read a citizen page's status →
    call next at its window → start → finish the called ticket

so the mix is 1 : 1 : 1 : 1 : 1 of issue, citizen view, call-next, start
and finish (the API finishes only a ticket being served, so "start" is
part of every service).
Every request is timed from send to response; operations/s counts all four.
The load generator (aiohttp, one process) runs on the same two cores as the
hub: the figures are the whole box's, not the hub's alone.

Afterwards the database's timelines are checked: each ticket must have been
called at most once although two worker processes served the windows.

Baselines, in the same run, both served by two uvicorn workers:
- `bench.nullhub`: the same routes doing no work at all, the most any
  FastAPI hub could reach on this machine with this load generator;
- `bench.floorhub`, on each database: the thinnest hub that keeps every
  operation in its own transaction (a day counter, the ticket, its events,
  the window's row), through the hub's own database plumbing and nothing
  of a queue system besides. ``target_reachable_here`` says whether it meets
  the target: when it does not, a hub built as ours is cannot meet it on
  this machine.

Targets: ≥ 2,000 operations/s with p99 ≤ 50 ms, and zero tickets called twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from anxin.settings import Settings
from bench import floorhub
from bench.queuehub import (
    PATHS,
    SERVICES,
    api_session,
    bench_settings,
    double_calls,
    hall_database,
    hub_env,
    hub_process,
    issue_tokens,
    null_hub_process,
    postgres_database,
    service_code,
)
from broker import local

OPS_TARGET: Final = 2000.0
P99_TARGET_MS: Final = 50.0
WORKERS: Final = 2
CLIENTS: Final = (10, 50)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _reason(body: bytes) -> str:
    """A refusal's reason as the hub words it (its `detail`), shortened."""
    try:
        detail = json.loads(body).get("detail", "")
    except (ValueError, AttributeError):
        detail = body[:60].decode(errors="replace")
    return str(detail)[:80]


async def _load(
    url: str, *, clients: int, first_window: int, seconds: float, tokens: list[str]
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {
        k: [] for k in ("issue", "view", "next", "start", "finish")
    }
    failures = 0
    refusals: collections.Counter[str] = collections.Counter()
    async with api_session(url, connections=clients + 5) as client:
        stop_at = time.perf_counter() + seconds

        async def timed(kind: str, method: str, path: str, **kw: Any) -> Any:
            """The JSON answer (None for a page), or None after a refusal."""
            nonlocal failures
            t0 = time.perf_counter()
            async with client.request(method, path, **kw) as r:
                body = await r.read()
                latencies[kind].append((time.perf_counter() - t0) * 1000)
                if r.status >= 400:
                    failures += 1
                    refusals[f"{kind} {r.status} {_reason(body)}"] += 1
                    return None
                return json.loads(body) if r.content_type == "application/json" else True

        async def window_client(number: int) -> None:
            svc = service_code(SERVICES[(number + 1) % len(SERVICES)])
            while time.perf_counter() < stop_at:
                r = await timed("issue", "POST", PATHS.issue, json={"service": svc})
                if r is not None:
                    token = tokens[(number * 7919 + len(latencies["view"])) % len(tokens)]
                    await timed("view", "GET", PATHS.citizen.format(token=token))
                r = await timed("next", "POST", PATHS.next.format(n=number), json={})
                if r is not None and r["ticket"] is not None:
                    await timed("start", "POST", PATHS.start.format(n=number))
                    await timed("finish", "POST", PATHS.finish.format(n=number),
                                json={"outcome": "completed"})  # fmt: skip

        t0 = time.perf_counter()
        cpu0 = time.process_time()
        await asyncio.gather(*(window_client(first_window + i) for i in range(clients)))
        elapsed = time.perf_counter() - t0
        client_cpu = time.process_time() - cpu0
    every = [x for v in latencies.values() for x in v]
    return {
        "ops": len(every),
        "ops_per_s": round(len(every) / elapsed, 1),
        "p50_ms": round(statistics.median(every), 2) if every else 0.0,
        "p99_ms": round(_percentile(every, 0.99), 2),
        "failures": failures,
        "refusals": dict(refusals.most_common(5)),
        # The load generator's own share of the two cores.
        "client_cpu_ms_per_op": round(client_cpu * 1000 / max(1, len(every)), 3),
        **{f"{k}_p99_ms": round(_percentile(v, 0.99), 2) for k, v in latencies.items()},
    }


def _floor(database_url: str, workdir: Path, *, mqtt_port: int, seconds: float) -> dict[str, Any]:
    """`bench.floorhub`'s figures on the same kind of database: the most a hub
    that keeps every operation could reach here with this stack."""
    tokens = floorhub.create_schema(database_url, seed_per_service=50)
    out: dict[str, Any] = {}
    log = workdir / "floorhub.log"
    with floorhub.served(database_url, workers=WORKERS, log=log, mqtt_port=mqtt_port) as url:
        first = 1
        for clients in CLIENTS:
            figures = asyncio.run(
                _load(url, clients=clients, first_window=first, seconds=seconds, tokens=tokens)
            )
            first += clients
            kept = ("ops_per_s", "p50_ms", "p99_ms", "failures", "refusals")
            out[f"c{clients}"] = {k: figures[k] for k in kept}
    return out


def _measure(database_url: str, workdir: Path, *, mqtt_port: int, seconds: float) -> dict[str, Any]:
    settings = bench_settings(database_url, workdir)
    with hall_database(settings) as sessions:
        tokens = issue_tokens(sessions, settings, 50)
        env = hub_env(data_dir=workdir, database_url=database_url, mqtt_port=mqtt_port)
        out: dict[str, Any] = {}
        with hub_process(env, workers=WORKERS, log=workdir / "hub.log") as url:
            first = 1
            for clients in CLIENTS:
                # Each run has windows of its own: no window is left holding a ticket.
                out[f"c{clients}"] = asyncio.run(
                    _load(url, clients=clients, first_window=first, seconds=seconds, tokens=tokens)
                )
                first += clients
        called, twice = double_calls(sessions)
        out["tickets_called"] = called
        out["tickets_called_twice"] = twice
        return out


@contextlib.contextmanager
def _databases(root: Path) -> Iterator[list[tuple[str, str | None]]]:
    with postgres_database() as pg:
        yield [("sqlite", f"sqlite:///{root / 'hub.sqlite3'}"), ("postgresql", pg)]


def _baseline(workdir: Path, *, mqtt_port: int, seconds: float) -> dict[str, Any]:
    """The null hub's figures: this machine's ceiling for the same load."""
    workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    with null_hub_process(workers=WORKERS, log=workdir / "nullhub.log", mqtt_port=mqtt_port) as url:
        for clients in CLIENTS:
            figures = asyncio.run(
                _load(url, clients=clients, first_window=1, seconds=seconds, tokens=["t"])
            )
            kept = ("ops_per_s", "p50_ms", "p99_ms", "failures")
            out[f"c{clients}"] = {k: figures[k] for k in kept}
    return out


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    del settings  # every database and broker here is the benchmark's own
    seconds = 5.0 if quick else 20.0
    metrics: dict[str, Any] = {"hub_workers": WORKERS, "seconds_per_run": seconds}
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as tmp:
        root = Path(tmp)
        proc, port = local.start_mosquitto(root / "mosquitto")
        try:
            metrics["baseline_null_hub"] = _baseline(root / "null", mqtt_port=port, seconds=seconds)
            with _databases(root) as dbs:
                for name, url in dbs:
                    if url is None:
                        metrics[name] = "skipped: PostgreSQL unreachable"
                        continue
                    metrics[name] = _measure(url, root / name, mqtt_port=port, seconds=seconds)
                    metrics[name]["floor_hub"] = _floor(
                        floorhub.database_beside(url, root), root / name,
                        mqtt_port=port, seconds=seconds,
                    )  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(10)
    runs = [(db, c) for db in ("sqlite", "postgresql") if isinstance(metrics[db], dict)
            for c in CLIENTS]  # fmt: skip
    ok = bool(runs) and all(
        metrics[db][f"c{c}"]["ops_per_s"] >= OPS_TARGET
        and metrics[db][f"c{c}"]["p99_ms"] <= P99_TARGET_MS
        for db, c in runs
    )
    no_twice = all(metrics[db]["tickets_called_twice"] == 0 for db, _ in runs)
    # Whether the thinnest hub that keeps every operation meets the target
    # on this machine, on every database measured (`bench.floorhub`).
    metrics["target_reachable_here"] = bool(runs) and all(
        metrics[db]["floor_hub"][f"c{c}"]["ops_per_s"] >= OPS_TARGET
        and metrics[db]["floor_hub"][f"c{c}"]["p99_ms"] <= P99_TARGET_MS
        for db, c in runs
    )
    return {
        "bench": "ticket-throughput",
        "metrics": metrics,
        "targets": {"ops_per_s": OPS_TARGET, "p99_ms": P99_TARGET_MS, "tickets_called_twice": 0},
        "pass": ok and no_twice,
    }
