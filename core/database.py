"""Bringing a database up to date: migrations and reference data, one process at a time."""

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core import migrate
from core.config import Settings
from core.db import create_engine, session_factory
from core.reference_data import seed_reference_data

# Any fixed 64-bit number: the advisory lock serialises start-up across server processes.
PREPARE_LOCK_KEY = 7_220_331_905


async def prepare_database(engine: AsyncEngine, url: str) -> None:
    """Apply pending migrations and write missing reference data."""
    async with engine.connect() as lock_conn:
        await lock_conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PREPARE_LOCK_KEY})
        try:
            await asyncio.to_thread(migrate.upgrade, url)
            await seed(engine)
        finally:
            await lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PREPARE_LOCK_KEY})
            await lock_conn.commit()


async def seed(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session, session.begin():
        await seed_reference_data(session)


def run_with_engine(
    settings: Settings, url: str, work: Callable[[AsyncEngine], Awaitable[None]]
) -> None:
    """Run `work` on an engine of its own, from code with no event loop (the CLI)."""

    async def run() -> None:
        engine = create_engine(settings, url)
        try:
            await work(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
