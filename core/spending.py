"""What a user spent: their completed deductions over a period, or on one goal."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import TokenTransaction
from core.models.enums import TransactionStatus, TransactionType

Period = Literal["today", "week", "month", "all"]


@dataclass(frozen=True)
class Spending:
    total: Decimal
    transactions: int
    since: datetime | None  # None: since the account began


def period_start(period: Period, now: datetime) -> datetime | None:
    """Calendar periods in UTC: today from midnight, a week from Monday, a month from the 1st."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return midnight
    if period == "week":
        return midnight - timedelta(days=midnight.weekday())
    if period == "month":
        return midnight.replace(day=1)
    return None


async def spent(
    session: AsyncSession,
    user_id: uuid.UUID,
    period: Period = "all",
    goal_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Spending:
    """Completed deductions (refused ones took nothing) since the period began."""
    since = period_start(period, now or datetime.now(UTC))
    query = select(func.coalesce(func.sum(TokenTransaction.amount), 0), func.count()).where(
        TokenTransaction.user_id == user_id,
        TokenTransaction.type == TransactionType.DEDUCTION,
        TokenTransaction.status == TransactionStatus.COMPLETED,
    )
    if since is not None:
        query = query.where(TokenTransaction.created_at >= since)
    if goal_id is not None:
        query = query.where(TokenTransaction.goal_id == goal_id)
    total, count = (await session.execute(query)).one()
    return Spending(Decimal(total), count, since)
