"""Which goals are due for a check, and goals past their end date.

A goal is due when it has never been checked or its priority's interval has passed since
its last check, and no check of it is already queued or running (the queue's own locks
name it, so the scheduler never piles up jobs behind a slow worker).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import alerts, goals
from core.config import Settings
from core.db import reading
from core.models import Goal
from core.models.enums import GoalPriority, GoalStatus

QUEUE_SCHEMA = "procrastinate"  # migration 0004
# Highest first: procrastinate runs higher priorities first.
PRIORITY = {GoalPriority.HIGH: 3, GoalPriority.MEDIUM: 2, GoalPriority.LOW: 1}
FIRST_CHECK_PRIORITY = 4
LIVE = (GoalStatus.ACTIVE, GoalStatus.PAUSED)  # statuses an end date still ends


def check_lock(goal_id: uuid.UUID | str) -> str:
    """No two checks of one goal run at once."""
    return f"goal:{goal_id}"


def queueing_lock(goal_id: uuid.UUID | str) -> str:
    """No two checks of one goal wait in the queue at once."""
    return f"check:{goal_id}"


DUE = text(f"""
SELECT g.id, g.last_checked_at, g.priority
FROM goals g
WHERE g.status = 'active'
  AND (g.last_checked_at IS NULL
       OR g.last_checked_at <= now() - make_interval(secs => CASE g.priority
            WHEN 'high' THEN :high WHEN 'medium' THEN :medium ELSE :low END))
  AND NOT EXISTS (SELECT 1 FROM {QUEUE_SCHEMA}.procrastinate_jobs j
                  WHERE j.status = 'todo' AND j.queueing_lock = 'check:' || g.id::text)
  AND NOT EXISTS (SELECT 1 FROM {QUEUE_SCHEMA}.procrastinate_jobs j
                  WHERE j.status = 'doing' AND j.lock = 'goal:' || g.id::text)
ORDER BY g.last_checked_at NULLS FIRST
LIMIT :limit
""")


@dataclass(frozen=True)
class Due:
    goal_id: uuid.UUID
    slot: datetime | None  # the last check it follows
    priority: GoalPriority


async def due_goals(session: AsyncSession, settings: Settings, limit: int) -> list[Due]:
    params = {p.value: goals.check_interval_s(settings, p) for p in GoalPriority}
    params["limit"] = limit
    rows = await session.execute(DUE, params)
    return [Due(row.id, row.last_checked_at, GoalPriority(row.priority)) for row in rows]


async def expire_goals(sessions: async_sessionmaker[AsyncSession], limit: int) -> int:
    """Active or paused goals past their end date become expired, their owners told: one
    short transaction each, owner's row locked first as the ledger does."""
    async with reading(sessions) as session:
        ended = (
            await session.execute(
                select(Goal.id, Goal.user_id)
                .where(Goal.status.in_(LIVE), Goal.end_date <= func.now())
                .limit(limit)
            )
        ).all()
    for goal_id, user_id in ended:
        async with sessions() as session, session.begin():
            await goals.lock_user(session, user_id)
            goal = await session.scalar(select(Goal).where(Goal.id == goal_id).with_for_update())
            if goal.status in LIVE:  # not changed meanwhile
                message = alerts.expired_text(goal)
                await alerts.stop_goal(session, goal, GoalStatus.EXPIRED, "expired", message)
    return len(ended)
