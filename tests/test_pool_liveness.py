"""The pool's check on checkout (core.db.discard_if_closed_by_server), in place of a ping:
a connection the server closed while it sat idle in the pool is never handed out, and a
healthy one is handed out again with nothing sent to the server."""

from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.config import Settings
from core.db import create_engine, libpq_url
from tests.monitor_support import eventually
from tests.throwaway_cluster import Cluster, throwaway_cluster


def pool_of(settings: Settings, url: str, size: int) -> AsyncEngine:
    return create_engine(settings.model_copy(update={"db_pool_max": size}), url)


async def backend_pid(engine: AsyncEngine) -> int:
    """Through the engine: the server process behind the connection the pool hands out."""
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT pg_backend_pid()"))


async def pool_filled(engine: AsyncEngine, size: int) -> set[int]:
    """`size` connections opened and back in the pool, idle: their backends' pids."""
    conns = [await engine.connect() for _ in range(size)]
    pids = {await conn.scalar(text("SELECT pg_backend_pid()")) for conn in conns}
    for conn in conns:
        await conn.close()
    return pids


async def terminated(url: str, pid: int) -> None:
    """`pid` ended by the server, as an administrator or an idle timeout would end it."""
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        async def gone() -> bool:
            cur = await admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            return await cur.fetchone() is None

        await eventually(gone)


async def test_a_terminated_backend_is_never_handed_out(settings, database_url):
    engine = pool_of(settings, database_url, 1)
    try:
        pid = await backend_pid(engine)
        await terminated(database_url, pid)
        assert await backend_pid(engine) != pid  # no error: a fresh connection
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as cluster:
        yield cluster


def restarted(cluster: Cluster) -> None:
    cluster.stop()
    cluster.start()


def crashed_and_started(cluster: Cluster) -> None:
    cluster.crash()
    cluster.start()


@pytest.mark.once  # its own cluster
@pytest.mark.parametrize("restart", [restarted, crashed_and_started])
async def test_connections_from_before_a_restart_are_never_handed_out(
    settings, cluster: Cluster, restart: Callable[[Cluster], None]
):
    engine = pool_of(settings, cluster.database("liveness"), 3)
    try:
        before = await pool_filled(engine, 3)
        restart(cluster)
        after = await pool_filled(engine, 3)  # each checkout met a dead one: no error
        assert not before & after
    finally:
        await engine.dispose()


async def last_activity(observer: psycopg.AsyncConnection, pid: int) -> tuple:
    """When the backend last changed state, and its last statement: any message the client
    sends moves them."""
    cur = await observer.execute(
        "SELECT state_change, query FROM pg_stat_activity WHERE pid = %s", (pid,)
    )
    return await cur.fetchone()


async def test_a_healthy_connection_is_handed_out_again_with_nothing_sent(settings, database_url):
    engine = pool_of(settings, database_url, 1)
    url = libpq_url(database_url)
    try:
        pid = await backend_pid(engine)  # the first checkout of a new connection is never
        # pinged: the one that counts is the next
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as observer:
            idle = await last_activity(observer, pid)
            async with engine.connect() as conn:  # a checkout: pre_ping's SELECT 1 went here
                assert await last_activity(observer, pid) == idle
                assert await conn.scalar(text("SELECT pg_backend_pid()")) == pid
    finally:
        await engine.dispose()
