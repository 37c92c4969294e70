"""One page of a query's rows and how many rows there are in all."""

from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def page(
    session: AsyncSession, query: Select[tuple[T]], *, limit: int, offset: int
) -> tuple[list[T], int]:
    """`query` (already ordered) cut to limit/offset, and the count of all its rows."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    total = await session.scalar(counted)
    rows = await session.scalars(query.limit(limit).offset(offset))
    return list(rows), total or 0
