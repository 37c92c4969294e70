"""core.precompiled: statements built with SQLAlchemy, run by psycopg, read as SQLAlchemy
would have read them."""

import contextlib
import uuid

import psycopg
import pytest
from sqlalchemy import bindparam, literal, select
from sqlalchemy.exc import InvalidRequestError

from core.db import create_engine, session_factory
from core.models import ChatMessage
from core.models.enums import MessageRole
from core.precompiled import Precompiled, pooled

COLUMNS = ChatMessage.__table__.c
STATEMENT = select(
    literal(7).label("seven"),
    bindparam("doc", type_=COLUMNS.meta_data.type).label("doc"),
    bindparam("role", type_=COLUMNS.role.type).label("role"),
    bindparam("id", type_=COLUMNS.id.type).label("id"),
)


async def test_rows_match_what_sqlalchemy_reads(sessions):
    values = {
        "doc": {"a": [1, "two"], "b": None},
        "role": MessageRole.ASSISTANT,
        "id": uuid.uuid4(),
    }
    async with pooled(sessions) as conn:
        (fast,) = await Precompiled.of(STATEMENT).rows(conn, values)
    async with sessions() as session:
        (slow,) = (await session.execute(STATEMENT, values)).all()
    assert tuple(fast) == tuple(slow) == (7, values["doc"], "assistant", values["id"])
    assert fast.doc == values["doc"] and fast.role == MessageRole.ASSISTANT


async def test_a_missing_parameter_is_named_before_anything_is_sent(sessions):
    async with pooled(sessions) as conn:
        with pytest.raises(InvalidRequestError, match="'role'"):
            await Precompiled.of(STATEMENT).rows(conn, {"doc": {}, "id": uuid.uuid4()})
        (row,) = await Precompiled.of(select(literal(1))).rows(conn, {})  # still usable
    assert tuple(row) == (1,)


async def in_transaction_mode(sessions) -> tuple[int, bool]:
    """The backend and autocommit flag of the connection the next session gets."""
    async with sessions() as session:
        raw = await (await session.connection()).get_raw_connection()
        return raw.driver_connection.info.backend_pid, raw.driver_connection.autocommit


@pytest.fixture
async def own_pool(database_url, settings):
    """Sessions on an engine of their own: these tests watch which connection comes back."""
    engine = create_engine(settings, database_url)
    yield session_factory(engine, settings)
    await engine.dispose()


async def test_a_pooled_connection_goes_back_as_the_pool_gave_it(own_pool):
    sessions = own_pool
    for fails in (False, True):
        with contextlib.suppress(psycopg.errors.DivisionByZero):
            async with pooled(sessions) as conn:
                pid = conn.info.backend_pid
                assert conn.autocommit
                await conn.execute("SELECT 1/0" if fails else "SELECT 1")
        assert await in_transaction_mode(sessions) == (pid, False)


async def test_a_connection_lost_mid_statement_is_not_handed_out_again(own_pool):
    sessions = own_pool
    with pytest.raises(psycopg.OperationalError):
        async with pooled(sessions) as conn:
            lost = conn.info.backend_pid
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    async with pooled(sessions) as conn:
        assert conn.info.backend_pid != lost
        (row,) = await Precompiled.of(select(literal(1))).rows(conn, {})
    assert tuple(row) == (1,)
