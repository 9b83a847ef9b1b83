"""The hub's FastAPI application, built by `create_app`; nothing exists at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware.sessions import SessionMiddleware

from anxin import heap
from anxin.settings import Settings
from central import errors
from central.appointments import api as appointments_api
from central.appointments import views as appointments_views
from central.auth import api as auth_api
from central.auth import views as auth_views
from central.db import WalCheckpointer, database_url, make_engine, make_sessionmaker
from central.deps import CurrentUser, SessionDep, get_db
from central.devices import api as devices_api
from central.devices import service as devices_service
from central.devices import views as devices_views
from central.devices.bridge import HubBridge
from central.guidance import web as guidance_web
from central.interpreting import signalling as interpreting_signalling
from central.interpreting import views as interpreting_views
from central.interpreting.service import InterpretingService, attach_interpreting
from central.matters import api as matters_api
from central.matters import views as matters_views
from central.matters.outlet import MattersOutlet
from central.metrics import HubMetrics
from central.queueing import api as queue_api
from central.queueing import citizen as queue_citizen
from central.queueing import public as queue_public
from central.queueing import reportviews as queue_reportviews
from central.queueing import views as queue_views
from central.queueing.callers import CallerButtons
from central.queueing.kiosks import KioskDesk, attach_desk
from central.queueing.outlets import QueueOutlets
from central.ratings import pad as ratings_pad
from central.ratings import views as ratings_views
from central.state import HubState, StateDep, app_state, attach_state
from central.workstation import views as workstation_views

__all__ = ["CurrentUser", "SessionDep", "StateDep", "app_state", "create_app", "get_db"]

SESSION_COOKIE = "anxin_session"


def create_app(settings: Settings) -> FastAPI:
    """Build a hub app. Its lifespan starts and stops the MQTT bridge.

    The database must be migrated first (`central.db.upgrade_database`;
    `run_hub` does it).
    """
    engine = make_engine(database_url(settings), background_checkpoints=True)
    checkpoints = WalCheckpointer(engine)
    sessions = make_sessionmaker(engine)
    metrics = HubMetrics()

    def online_count() -> int:
        with sessions() as s:
            return devices_service.count_online(s)

    metrics.count_online_with(online_count)
    web = resources.files("central") / "web"
    templates = Jinja2Templates(directory=str(web / "templates"))
    bridge = HubBridge(settings=settings, sessions=sessions, metrics=metrics)
    state = HubState(settings, engine, sessions, metrics, bridge, templates)
    if settings.hub.clock_start is not None:
        state.clock.set(settings.hub.clock_start)
    outlets = QueueOutlets(
        settings=settings,
        sessions=sessions,
        read_sessions=state.read_sessions,
        bridge=bridge,
        bus=state.queue_bus,
        clock=state.clock,
    )
    CallerButtons(
        bridge=bridge, sessions=sessions, bus=state.queue_bus, settings=settings, clock=state.clock
    ).attach()
    kiosks = KioskDesk(
        bridge=bridge, sessions=sessions, bus=state.queue_bus, settings=settings, clock=state.clock
    )
    kiosks.attach()
    matters = MattersOutlet.attach(bridge, state.read_sessions)
    interpreting = InterpretingService(
        settings=settings, sessions=sessions, clock=state.clock, bridge=bridge
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await checkpoints.start()
        await bridge.start()
        await outlets.start()
        await matters.start()
        await kiosks.start()
        await interpreting.start()
        try:
            with heap.settled():  # no full collection walks the start-up heap
                yield
        finally:
            await interpreting.stop()
            await kiosks.stop()
            await matters.stop()
            await outlets.stop()
            await bridge.stop()
            await checkpoints.stop()
            engine.dispose()

    app = FastAPI(
        title="安心政务服务大厅 · 中心",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    attach_state(app, state)
    attach_desk(app, kiosks)
    attach_interpreting(app, interpreting)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.hub.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=settings.hub.session_max_age_s,
        same_site="lax",
        https_only=settings.hub.cookie_secure,
    )
    errors.install(app)
    # Routes are matched in order, one by one: the window verbs and the
    # citizen page (every phone polls it) come first, ahead of ~50 others.
    for router in (queue_api.router, queue_citizen.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(web / "static")), name="static")
    for router in (auth_api.router, auth_views.router, devices_api.router, devices_views.router,
                   queue_public.router, guidance_web.router):  # fmt: skip
        app.include_router(router)
    for router in (queue_views.router, queue_reportviews.router,
                   matters_views.router, matters_api.router):  # fmt: skip
        app.include_router(router)
    for router in (workstation_views.router, ratings_views.router, ratings_pad.router):
        app.include_router(router)
    for router in (appointments_api.router, appointments_api.staff_router,
                   appointments_views.router, appointments_views.staff_router):  # fmt: skip
        app.include_router(router)
    for router in (interpreting_signalling.router, interpreting_views.router):
        app.include_router(router)

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    def healthz(state: StateDep) -> dict[str, bool]:
        return {"ok": True, "mqtt": state.bridge.connected}

    return app
