"""Rows for tests, written through the ORM with the fewest fields the schema requires."""

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Deal, Goal, Market, User
from core.models.enums import DealSource, MarketCategory, MarketType


async def make_user(session: AsyncSession, **fields: object) -> User:
    user = User(email=f"{uuid.uuid4().hex[:12]}@example.com", password="x", **fields)
    session.add(user)
    await session.flush()
    return user


async def make_goal(session: AsyncSession, user: User, **fields: object) -> Goal:
    goal = Goal(user_id=user.id, title="27-inch 4K monitor", category=MarketCategory.ELECTRONICS)
    for name, value in fields.items():
        setattr(goal, name, value)
    session.add(goal)
    await session.flush()
    return goal


async def make_deal(session: AsyncSession, goal: Goal, **fields: object) -> Deal:
    market = await session.scalar(select(Market).where(Market.type == MarketType.AMAZON))
    assert market is not None, "reference data (markets) is not seeded"
    defaults: dict[str, object] = {
        "title": "Monitor",
        "url": f"https://example.com/{uuid.uuid4().hex}",
        "current_price": Decimal("249.99"),
        "category": MarketCategory.ELECTRONICS,
        "source": DealSource.AMAZON,
    }
    deal = Deal(goal_id=goal.id, market_id=market.id, **{**defaults, **fields})
    session.add(deal)
    await session.flush()
    return deal
