"""update_goal takes its locks in the ledger's order (user row, then goal row), so pausing a
goal while the monitor debits that goal's checks waits instead of deadlocking."""

import asyncio
from decimal import Decimal

from sqlalchemy import func, select, text, update

from core import goals
from core.goals import GoalAction, GoalDraft
from core.models import Goal, User
from core.models.enums import GoalStatus
from tests.agent_helpers import new_user


async def waiting_for_a_lock(sessions, pid: int) -> None:
    async with asyncio.timeout(10):
        while True:
            async with sessions() as session:
                query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
                if await session.scalar(query, {"pid": pid}) == "Lock":
                    return
            await asyncio.sleep(0.02)


async def test_a_pause_during_a_debit_waits_instead_of_deadlocking(sessions):
    user = await new_user(sessions)
    async with sessions.begin() as session:
        goal_id = (await goals.create_goal(session, user, GoalDraft(title="x"))).id

    async def pause() -> GoalStatus:
        async with sessions.begin() as session:
            await pauser_pid.put(await session.scalar(select(func.pg_backend_pid())))
            return (await goals.update_goal(session, user, goal_id, action=GoalAction.PAUSE)).status

    pauser_pid: asyncio.Queue[int] = asyncio.Queue()
    async with sessions.begin() as debit:
        # The ledger's order: the user's row first ...
        await debit.execute(update(User).where(User.id == user).values(token_balance=1))
        pausing = asyncio.create_task(pause())
        await waiting_for_a_lock(sessions, await pauser_pid.get())
        # ... then the goal's, which the pause must not be holding by now.
        spent = Goal.total_tokens_spent + Decimal("0.5")
        await debit.execute(update(Goal).where(Goal.id == goal_id).values(total_tokens_spent=spent))
    assert await asyncio.wait_for(pausing, 10) == GoalStatus.PAUSED
    async with sessions() as session:
        goal = await session.get_one(Goal, goal_id)
        count = await session.scalar(select(User.active_goals_count).where(User.id == user))
    assert (goal.status, goal.total_tokens_spent, count) == (GoalStatus.PAUSED, Decimal("0.5"), 0)
