"""core/goals.py: goals scoped to their user, and users.active_goals_count kept right."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import goals
from core.goals import GoalAction, GoalDraft, GoalError, GoalNotFound
from core.models import User
from core.models.enums import GoalStatus
from tests.agent_helpers import new_user


async def count(sessions, user_id: uuid.UUID) -> int:
    async with sessions() as session:
        return await session.scalar(select(User.active_goals_count).where(User.id == user_id))


async def create(sessions, user_id: uuid.UUID, **fields) -> uuid.UUID:
    async with sessions.begin() as session:
        return (await goals.create_goal(session, user_id, GoalDraft(title="x", **fields))).id


async def act(sessions, user_id: uuid.UUID, goal_id: uuid.UUID, **change) -> GoalStatus:
    async with sessions.begin() as session:
        return (await goals.update_goal(session, user_id, goal_id, **change)).status


async def test_the_count_follows_pause_resume_cancel(sessions):
    user = await new_user(sessions)
    goal = await create(sessions, user)
    assert await count(sessions, user) == 1
    assert await act(sessions, user, goal, action=GoalAction.PAUSE) == GoalStatus.PAUSED
    assert await count(sessions, user) == 0
    with pytest.raises(GoalError, match="Cannot pause a goal that is paused"):
        await act(sessions, user, goal, action=GoalAction.PAUSE)
    assert await act(sessions, user, goal, action=GoalAction.RESUME) == GoalStatus.ACTIVE
    assert await count(sessions, user) == 1
    assert await act(sessions, user, goal, action=GoalAction.CANCEL) == GoalStatus.CANCELLED
    assert await count(sessions, user) == 0
    with pytest.raises(GoalError):
        await act(sessions, user, goal, action=GoalAction.RESUME)
    paused = await create(sessions, user)
    await act(sessions, user, paused, action=GoalAction.PAUSE)
    await act(sessions, user, paused, action=GoalAction.CANCEL)  # a paused goal: no change
    assert await count(sessions, user) == 0


async def test_concurrent_changes_keep_the_count(sessions):
    user = await new_user(sessions)
    ids = await asyncio.gather(*(create(sessions, user) for _ in range(10)))
    assert await count(sessions, user) == 10
    pause = GoalAction.PAUSE
    await asyncio.gather(*(act(sessions, user, g, action=pause) for g in ids[:6]))
    assert await count(sessions, user) == 4
    # The same goal paused twice at once: one wins, the other is refused; counted once.
    outcomes = await asyncio.gather(
        act(sessions, user, ids[9], action=pause),
        act(sessions, user, ids[9], action=pause),
        return_exceptions=True,
    )
    assert sum(isinstance(o, GoalError) for o in outcomes) == 1
    assert await count(sessions, user) == 3


async def test_another_users_goal_does_not_exist_for_you(sessions):
    owner, other = await new_user(sessions), await new_user(sessions)
    goal = await create(sessions, owner, max_budget=Decimal("100"))
    with pytest.raises(GoalNotFound):
        await act(sessions, other, goal, action=GoalAction.CANCEL)
    with pytest.raises(GoalNotFound):
        await act(sessions, other, goal, max_budget=Decimal("1"))
    async with sessions() as session:
        assert await goals.list_goals(session, other) == []
        (mine,) = await goals.list_goals(session, owner)
    assert (mine.status, mine.max_budget) == (GoalStatus.ACTIVE, Decimal("100"))


async def test_bad_goals_are_refused_with_a_reason(sessions):
    user = await new_user(sessions)
    with pytest.raises(GoalError, match="above the budget"):
        await create(sessions, user, max_budget=Decimal("100"), target_price=Decimal("150"))
    with pytest.raises(GoalError, match="past"):
        await create(sessions, user, end_date=datetime.now(UTC) - timedelta(days=1))
    goal = await create(sessions, user, max_budget=Decimal("100"))
    with pytest.raises(GoalError, match="above the budget"):
        await act(sessions, user, goal, target_price=Decimal("101"))
    assert await count(sessions, user) == 1
