"""The transaction helper and the connection standards, against real PostgreSQL."""

import asyncio
import logging

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from core.db import create_engine, in_transaction, reading, session_factory, sqlstate
from core.models import User
from tests.factories import make_user


async def test_a_real_deadlock_is_retried(sessions, session):
    first = await make_user(session)
    second = await make_user(session)
    await session.commit()
    both_locked = asyncio.Barrier(2)
    attempts = {"a": 0, "b": 0}

    def crossing(name: str, mine, theirs):
        async def work(s):
            attempts[name] += 1
            await s.execute(update(User).where(User.id == mine.id).values(name=name))
            if attempts[name] == 1:
                await both_locked.wait()  # both hold one row: each now wants the other's
            await s.execute(update(User).where(User.id == theirs.id).values(name=name))
            return name

        return work

    results = await asyncio.gather(
        in_transaction(sessions, crossing("a", first, second), delay_s=0.05),
        in_transaction(sessions, crossing("b", second, first), delay_s=0.05),
    )
    assert sorted(results) == ["a", "b"]
    assert sorted(attempts.values()) == [1, 2], "exactly one side was the deadlock victim"


async def test_other_errors_are_not_retried(sessions):
    calls = 0

    async def work(s):
        nonlocal calls
        calls += 1
        await s.execute(text("SELECT 1/0"))

    with pytest.raises(DBAPIError) as error:
        await in_transaction(sessions, work, delay_s=0)
    assert sqlstate(error.value) == "22012"
    assert calls == 1


async def test_retries_are_bounded_by_the_settings(engine, settings):
    sessions = session_factory(
        engine, settings.model_copy(update={"db_retry_attempts": 2, "db_retry_delay_s": 0})
    )
    calls = 0

    async def work(s):
        nonlocal calls
        calls += 1
        await s.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$"))

    with pytest.raises(DBAPIError):
        await in_transaction(sessions, work)
    assert calls == 3, "one attempt and two retries"


async def test_statements_and_transactions_are_bounded(settings, database_url):
    tight = settings.model_copy(update={"db_statement_timeout_s": 0.2, "db_pool_min": 1})
    engine = create_engine(tight, database_url)
    try:

        async def sleep(s, seconds):
            await s.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})

        with pytest.raises(DBAPIError) as error:
            await in_transaction(session_factory(engine, tight), lambda s: sleep(s, 1))
        assert sqlstate(error.value) == "57014"  # query_canceled

        async def many_short(s):
            for _ in range(10):
                await sleep(s, 0.1)

        with pytest.raises(TimeoutError):
            await in_transaction(session_factory(engine, tight), many_short, timeout_s=0.3)
    finally:
        await engine.dispose()


async def test_slow_statements_are_logged(settings, database_url, caplog):
    engine = create_engine(settings.model_copy(update={"db_slow_query_s": 0.1}), database_url)
    try:
        with caplog.at_level(logging.WARNING, logger="core.db"):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await conn.execute(text("SELECT pg_sleep(0.2)"))
    finally:
        await engine.dispose()
    slow = [r.getMessage() for r in caplog.records if "slow statement" in r.getMessage()]
    assert len(slow) == 1 and "pg_sleep" in slow[0]


async def test_a_reading_session_leaves_its_connection_transactional(settings, database_url):
    one = settings.model_copy(update={"db_pool_max": 1, "db_pool_overflow": 0})
    engine = create_engine(one, database_url)
    sessions = session_factory(engine, one)
    try:
        async with reading(sessions) as session:
            # autocommit: each statement is a transaction of its own, no BEGIN around them
            first = await session.scalar(text("SELECT txid_current()"))
            assert await session.scalar(text("SELECT txid_current()")) != first
        async with sessions() as session:  # the same (only) connection, back in a transaction
            await session.execute(text("CREATE TEMP TABLE t_reading (x int)"))
            await session.execute(text("INSERT INTO t_reading VALUES (1)"))
            await session.rollback()
            gone = await session.scalar(text("SELECT to_regclass('pg_temp.t_reading')"))
        assert gone is None
    finally:
        await engine.dispose()
