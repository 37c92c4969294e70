"""Engine, sessions and the transaction helper, set up to the seed's connection standards."""

import asyncio
import logging
import select
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from psycopg import pq
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs worth running a transaction again for: deadlock_detected, serialization_failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def async_url(url: str) -> str:
    """Any postgres URL, made to use psycopg 3 (sync and async alike)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """Any postgres URL, as plain psycopg (libpq) connects to it."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(settings: Settings, url: str) -> AsyncEngine:
    timeout_ms = int(settings.db_statement_timeout_s * 1000)
    idle_ms = int(settings.db_transaction_timeout_s * 1000)
    engine = create_async_engine(
        async_url(url),
        pool_size=settings.db_pool_max,
        max_overflow=settings.db_pool_overflow,
        pool_recycle=settings.db_pool_recycle_s,
        connect_args={
            "options": f"-c statement_timeout={timeout_ms} "
            f"-c idle_in_transaction_session_timeout={idle_ms} -c timezone=UTC"
        },
    )
    event.listen(engine.sync_engine, "checkout", discard_if_closed_by_server)
    log_slow_statements(engine, settings.db_slow_query_s)
    return engine


def discard_if_closed_by_server(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """The pool's check before it hands out a connection, in place of pool_pre_ping's
    SELECT 1: that ping was a round trip (a send and a receive system call) on every
    checkout, three per chat turn. This one asks the socket instead, sending nothing.

    A server that drops a connection (a restart, pg_terminate_backend, an idle timeout, a
    crash) sends a FATAL error and/or closes the socket, so the socket of a connection idle
    in the pool turns readable; nothing else ever arrives on one (pool connections never
    LISTEN). Readable, or known broken to libpq: the pool discards it and connects anew. A
    peer gone silently (no FIN) is not seen, as a ping would hang on it too.
    """
    pgconn = record.driver_connection.pgconn
    if pgconn.status != pq.ConnStatus.OK or readable(pgconn.socket):
        raise DisconnectionError("the server closed this pooled connection")


def readable(fd: int) -> bool:
    """Data, EOF or an error waiting on `fd`, without blocking (poll, not select: select
    cannot take descriptors over 1023, and a busy server has them)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


async def warm_pool(engine: AsyncEngine, count: int) -> None:
    """Open the pool's minimum of connections now, not on the first requests."""
    conns = [await engine.connect() for _ in range(count)]
    for conn in conns:
        await conn.close()


def log_slow_statements(engine: AsyncEngine, threshold_s: float) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("query_start", []).append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _finish(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        elapsed = time.perf_counter() - conn.info["query_start"].pop()
        if elapsed > threshold_s:
            log.warning("slow statement (%.3f s): %s", elapsed, statement)


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for a one-statement read, in autocommit: no BEGIN and ROLLBACK round trips
    (one statement is atomic and reads one snapshot on its own). Not for writes, nor for
    reads that must agree with each other."""
    async with autocommit(sessions) as session:
        yield session


@asynccontextmanager
async def autocommit(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose every statement commits on its own: for work whose statements need
    not be atomic together (at most one writes), with no BEGIN and COMMIT round trips."""
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


def session_factory(
    engine: AsyncEngine, settings: Settings | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions that carry the transaction policy (retries, delay, bound) in_transaction uses."""
    settings = settings or Settings(_env_file=None)
    policy = TransactionPolicy(
        settings.db_retry_attempts, settings.db_retry_delay_s, settings.db_transaction_timeout_s
    )
    return async_sessionmaker(engine, expire_on_commit=False, info={"policy": policy})


@dataclass(frozen=True)
class TransactionPolicy:
    retries: int
    delay_s: float
    timeout_s: float


def sqlstate(error: BaseException) -> str | None:
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None)


async def in_transaction(
    sessions: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    retries: int | None = None,
    delay_s: float | None = None,
    timeout_s: float | None = None,
) -> T:
    """Run `work` in one transaction; run it again on a deadlock or serialization failure.

    Unset arguments come from the sessions' TransactionPolicy. The whole transaction is
    bounded by `timeout_s` (PostgreSQL 15 has no transaction_timeout of its own); each
    statement by the engine's statement_timeout.
    """
    policy: TransactionPolicy = sessions.kw["info"]["policy"]
    retries = policy.retries if retries is None else retries
    delay_s = policy.delay_s if delay_s is None else delay_s
    timeout_s = policy.timeout_s if timeout_s is None else timeout_s
    for attempt in range(retries + 1):
        try:
            async with asyncio.timeout(timeout_s), sessions() as session, session.begin():
                return await work(session)
        except DBAPIError as error:
            if sqlstate(error) not in RETRYABLE_SQLSTATES or attempt == retries:
                raise
            log.warning("transaction retry %d/%d after %s", attempt + 1, retries, sqlstate(error))
            await asyncio.sleep(delay_s)
    raise AssertionError("unreachable")


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        if not exists:
            return None
        return await conn.scalar(text("SELECT version_num FROM alembic_version"))
