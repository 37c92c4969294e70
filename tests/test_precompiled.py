"""core.precompiled: statements built with SQLAlchemy, run by psycopg, read as SQLAlchemy
would have read them."""

import uuid

import pytest
from sqlalchemy import bindparam, literal, select
from sqlalchemy.exc import InvalidRequestError

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
