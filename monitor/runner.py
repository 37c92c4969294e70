"""Running the monitor: inside `serve` (MONITOR_IN_PROCESS), as `dealagent worker`, or in
a thread of the `serve --workers N` parent (so N server processes run one monitor)."""

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.database import prepare_database
from core.db import create_engine, libpq_url, session_factory
from core.mailer import mailer_from_settings
from markets.sandbox.credentials import sandbox_settings
from markets.sandbox.embedded import point_markets_at, sandbox_wanted
from monitor.check import MonitorDeps
from monitor.queue import Monitor, cancel_quietly

log = logging.getLogger(__name__)

RESTART_FIRST_S = 1.0
RESTART_MAX_S = 60.0


async def keep_working(work: Callable[[], Awaitable[None]]) -> None:
    """The queue's worker, run again (with backoff) whenever it stops by itself: it does
    when it loses its database (a restarted server). Only cancelling stops this."""
    delay = RESTART_FIRST_S
    while True:
        began = time.monotonic()
        try:
            await work()
            failure = None
        except Exception as error:
            failure = error
        if time.monotonic() - began > RESTART_MAX_S:  # it had been working: no backoff
            delay = RESTART_FIRST_S
        log.error("the monitor worker stopped (%r); starting it again in %g s", failure, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RESTART_MAX_S)


@contextlib.asynccontextmanager
async def monitor_running(
    settings: Settings,
    url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    *,
    work: bool,
    concurrency: int | None = None,
) -> AsyncIterator[Monitor]:
    """An open Monitor for deferring; with `work`, a worker runs the queue meanwhile."""
    concurrency = concurrency or settings.monitor_concurrency
    monitor = Monitor(settings, libpq_url(url), pool_size=concurrency + 3 if work else 2)
    await monitor.open()
    worker = None
    if work:
        deps = MonitorDeps(sessions, http, settings, mailer_from_settings(settings))
        worker = asyncio.create_task(
            keep_working(lambda: monitor.run_worker(deps, concurrency)), name="monitor"
        )
    try:
        yield monitor
    finally:
        if worker is not None:
            await cancel_quietly(worker)
        await monitor.close()


async def worker_settings(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> Settings:
    """A worker searches the markets the servers do: with the sandbox standing in, the one
    at SANDBOX_URL (else the markets rows as a running server pointed them)."""
    if not sandbox_wanted(settings):
        return settings
    settings = sandbox_settings(settings)
    if settings.sandbox_url:
        await point_markets_at(sessions, settings.sandbox_url.rstrip("/"))
    return settings


async def run_worker(settings: Settings, url: str, concurrency: int, *, signals: bool) -> None:
    """A worker process's (or thread's) life: until SIGTERM/SIGINT, or cancelled."""
    engine = create_engine(settings, url)
    try:
        await prepare_database(engine, url)
        sessions = session_factory(engine, settings)
        settings = await worker_settings(settings, sessions)
        async with httpx.AsyncClient(timeout=settings.market_timeout_s + 1) as http:
            monitor = Monitor(settings, libpq_url(url), pool_size=concurrency + 3)
            await monitor.open()
            try:
                deps = MonitorDeps(sessions, http, settings, mailer_from_settings(settings))
                log.info("monitor worker running %d checks at once", concurrency)
                work = asyncio.create_task(
                    keep_working(lambda: monitor.run_worker(deps, concurrency))
                )
                if signals:  # stop after the running checks: cancelling does that
                    for signum in (signal.SIGTERM, signal.SIGINT):
                        asyncio.get_running_loop().add_signal_handler(signum, work.cancel)
                try:
                    await asyncio.wait({work})
                finally:
                    await cancel_quietly(work)
            finally:
                await monitor.close()
    finally:
        await engine.dispose()


@contextlib.contextmanager
def monitor_in_thread(settings: Settings, url: str) -> Iterator[None]:
    """The one monitor of a `serve --workers N` parent, in a thread with its own loop."""
    loop = asyncio.new_event_loop()
    task: asyncio.Task[None] | None = None

    def run() -> None:
        nonlocal task
        task = loop.create_task(
            run_worker(settings, url, settings.monitor_concurrency, signals=False)
        )
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)
        loop.close()

    thread = threading.Thread(target=run, name="monitor")
    thread.start()
    try:
        yield
    finally:
        if task is not None:
            loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=60)
