"""The floor of the queue benchmarks on this machine: a hub that does no
queue work at all.

It answers the benchmarks' routes with small JSON bodies shaped like the real
hub's, from async endpoints (no thread-pool hop), served like the real hub:
uvicorn with httptools and uvloop, as many worker processes. When
``ANXIN_BENCH_NULL_MQTT_PORT`` names a broker, a "next" also publishes the
window's retained board topic, as the real hub does after its transaction.
Driven by the same load generator on the same cores, it measures what HTTP,
FastAPI, the broker and the load generator alone cost; the real hub can only
be slower. The benchmarks run it in the same run as the real hub
(`bench.ticket_throughput`, `bench.call_latency`), so both figures come from
the same machine in the same state.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any, Final

import paho.mqtt.client as mqtt
from fastapi import APIRouter, FastAPI
from paho.mqtt.enums import CallbackAPIVersion

from bench.queuehub import PATHS
from broker.contract import Topics

MQTT_PORT_ENV: Final = "ANXIN_BENCH_NULL_MQTT_PORT"
HALL: Final = "bench"

_ids = itertools.count(1)
_mqtt: mqtt.Client | None = None
topics: Final = Topics(HALL)


def publish(topic: str, payload: str) -> None:
    """Publish retained with QoS 1, as the hub does its board topics, when a
    broker was named."""
    if _mqtt is not None:
        _mqtt.publish(topic, payload, qos=1, retain=True)


def publish_call(window: int, number: str) -> None:
    """The window's board topic showing `number` called, as the benchmarks'
    board subscriber reads it (`bench.call_latency.BoardWatch`)."""
    board = {"window": window, "status": "open", "ticket": number, "ticket_state": "called"}
    publish(topics.hall_window(window), json.dumps(board))


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    global _mqtt
    port = os.environ.get(MQTT_PORT_ENV)
    if port:
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", int(port))
        sock = client.socket()
        if isinstance(sock, socket.socket):  # Nagle off, as the hub has it
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.loop_start()
        _mqtt = client
    try:
        yield
    finally:
        if _mqtt is not None:
            _mqtt.loop_stop()
            _mqtt.disconnect()


# What every baseline hub answers alike (`bench.floorhub` includes it too):
# the health check the benchmarks wait for, and a sign-in that checks nothing.
common = APIRouter()


@common.get("/healthz")
async def healthz() -> dict[str, Any]:
    return {"ok": True}


@common.post(PATHS.login)
async def login() -> dict[str, Any]:
    return {"csrf_token": "baseline"}


app = FastAPI(title="anxin bench null hub", lifespan=lifespan)
app.include_router(common)


@app.post(PATHS.issue)
async def issue(body: dict[str, Any]) -> dict[str, Any]:
    return {"id": next(_ids), "number": "A001", "service": body.get("service"), "ahead": 0}


@app.get(PATHS.citizen)
async def citizen(token: str) -> dict[str, Any]:
    return {"token": token, "state": "waiting", "ahead": 0}


@app.post(PATHS.next)
async def call_next(n: int, body: dict[str, Any]) -> dict[str, Any]:
    # Unique across the worker processes, as the real hub's are: the board
    # watcher counts a press done when the window shows a different ticket,
    # and two workers counting from 1 each handed a window the number it
    # already showed (the "failed presses" of the null hub's runs).
    number = f"N{os.getpid()}-{next(_ids):05d}"
    publish_call(n, number)
    return {"window": n, "ticket": {"number": number, "state": "called"}}


@app.post(PATHS.start)
async def start(n: int) -> dict[str, Any]:
    return {"window": n, "ticket": {"id": 0, "state": "serving"}}


@app.post(PATHS.finish)
async def finish(n: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"window": n, "ticket": {"id": 0, "state": "done"}, "outcome": body.get("outcome")}
