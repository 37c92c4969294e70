"""The FastAPI application: start-up wires the database; routers do the rest."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

from fastapi import FastAPI

from api.routes import chat_ws, health
from core.chat import ChatRuntime
from core.config import Settings, get_settings
from core.database import prepare_database
from core.db import create_engine, libpq_url, session_factory, warm_pool
from core.embedded_db import database_url


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    with ExitStack() as database:
        url = await asyncio.to_thread(database.enter_context, database_url(settings))
        engine = create_engine(settings, url)
        try:
            await prepare_database(engine, url)
            await warm_pool(engine, settings.db_pool_min)
            app.state.engine = engine
            app.state.sessions = session_factory(engine, settings)
            app.state.chat = ChatRuntime(settings, libpq_url(url))
            await app.state.chat.start()
            try:
                yield
            finally:
                await app.state.chat.close()
        finally:
            await engine.dispose()
            await asyncio.to_thread(database.close)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper())
    app = FastAPI(title="dealagent", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(health.router)
    app.include_router(chat_ws.router)
    return app
