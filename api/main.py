"""The FastAPI application: start-up wires the database; routers do the rest."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from api.body_limit import BodyLimit
from api.errors import install_error_handlers
from api.inputs import CheckedInput
from api.openapi import TAGS, install_openapi
from api.pending_auth import PendingAuth
from api.routes import (
    asyncapi,
    chat_ws,
    deals,
    goals,
    health,
    markets,
    me,
    models,
    notifications,
    tokens,
    web,
)
from api.routes import auth as auth_routes
from core import auth
from core.chat import ChatRuntime
from core.config import Settings, get_settings
from core.database import prepare_database
from core.db import create_engine, libpq_url, session_factory, warm_pool
from core.embedded_db import database_url
from core.mailer import mailer_from_settings
from core.throttle import Throttle
from markets.sandbox.embedded import prepare_markets
from monitor.runner import monitor_running

REGISTER_WINDOW_S = 3600  # REGISTER_MAX_PER_CLIENT counts sign-ups per hour


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    with ExitStack() as database:
        url = await asyncio.to_thread(
            database.enter_context, database_url(settings, supervise=True)
        )
        engine = create_engine(settings, url)
        http = httpx.AsyncClient(timeout=settings.market_timeout_s + 1)
        sandbox = None
        try:
            await prepare_database(engine, url)
            await warm_pool(engine, settings.db_pool_min)
            app.state.engine = engine
            app.state.sessions = session_factory(engine, settings)
            app.state.http = http
            app.state.settings, sandbox = await prepare_markets(settings, app.state.sessions)
            app.state.chat = ChatRuntime(settings, libpq_url(url))
            await app.state.chat.start()
            try:
                async with monitor_running(
                    app.state.settings,
                    url,
                    app.state.sessions,
                    http,
                    work=settings.monitor_in_process,
                ) as app.state.monitor:
                    # What start-up made lives as long as the process: out of the collector's
                    # way, a full collection scans only what turns make (~2% of a turn's CPU).
                    gc.freeze()
                    yield
            finally:
                await app.state.chat.close()
        finally:
            if sandbox:
                await sandbox.stop()
            await http.aclose()
            await engine.dispose()
            await asyncio.to_thread(database.close)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper())
    app = FastAPI(
        title="dealagent", lifespan=lifespan, openapi_tags=TAGS, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    auth.configure(settings)
    app.state.mailer = mailer_from_settings(settings)
    app.state.login_throttle = Throttle(
        "failed logins",
        settings.login_max_failures,
        settings.login_max_failures_per_client,
        settings.login_failure_window_s,
    )
    app.state.reset_throttle = Throttle(
        "password-reset requests",
        settings.reset_max_requests,
        settings.reset_max_requests_per_client,
        settings.reset_request_window_s,
    )
    app.state.register_throttle = Throttle(
        "sign-ups", None, settings.register_max_per_client, REGISTER_WINDOW_S
    )
    app.state.pending_auth = PendingAuth(settings.max_unauthenticated_per_client)
    install_error_handlers(app)
    install_openapi(app, settings)
    app.add_middleware(CheckedInput)  # inside BodyLimit: it reads only bounded bodies
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.include_router(health.router)
    app.include_router(asyncapi.router)
    for routes in (auth_routes, me, tokens, deals, markets, goals, notifications, models):
        app.include_router(routes.router, prefix="/api/v1")
    app.include_router(chat_ws.router)
    web.install(app, settings)  # the chat app, /widget.js, /docs and /redoc, all offline
    return app
