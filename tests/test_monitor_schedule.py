"""The schedule: which goals are due for a check (never checked, or their priority's
interval passed, and none of theirs queued or running), and goals past their end date."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update

from core import migrate
from core.database import seed
from core.db import create_engine, reading, session_factory
from core.models import Goal, Notification, User
from core.models.enums import GoalPriority, GoalStatus, NotificationType
from monitor import schedule
from monitor.queue import ANALYZE_AFTER, Monitor
from tests.factories import make_goal, make_user


@pytest.fixture
def fast(settings):
    return settings.model_copy(
        update={
            "monitor_interval_high_s": 60,
            "monitor_interval_medium_s": 600,
            "monitor_interval_low_s": 6000,
        }
    )


@pytest.fixture
async def db(make_database, settings):
    """A database of the test's own: the schedule looks at every goal in it."""
    url = make_database()
    migrate.upgrade(url)
    engine = create_engine(settings, url)
    await seed(engine)
    yield url, session_factory(engine, settings)
    await engine.dispose()


async def goals_checked_ago(sessions, ages: dict[str, tuple[GoalPriority, float | None]]):
    now = datetime.now(UTC)
    made = {}
    async with sessions() as session, session.begin():
        user = await make_user(session, token_balance=Decimal(10), active_goals_count=len(ages))
        for name, (priority, minutes) in ages.items():
            checked = None if minutes is None else now - timedelta(minutes=minutes)
            made[name] = await make_goal(
                session, user, title=name, priority=priority, last_checked_at=checked
            )
    return made


async def due_names(sessions, settings) -> set[str]:
    async with reading(sessions) as session:
        due = await schedule.due_goals(session, settings, 100)
        titles = dict((await session.execute(select(Goal.id, Goal.title))).all())
    return {titles[d.goal_id] for d in due}


async def test_due_goals_follow_their_priority_and_skip_queued_ones(db, fast):
    url, sessions = db
    made = await goals_checked_ago(
        sessions,
        {
            "never": (GoalPriority.LOW, None),
            "high, 2 min ago": (GoalPriority.HIGH, 2),
            "high, 30 s ago": (GoalPriority.HIGH, 0.5),
            "medium, 11 min ago": (GoalPriority.MEDIUM, 11),
            "medium, 9 min ago": (GoalPriority.MEDIUM, 9),
            "low, 99 min ago": (GoalPriority.LOW, 99),
            "low, 101 min ago": (GoalPriority.LOW, 101),
            "paused, never": (GoalPriority.HIGH, None),
        },
    )
    async with sessions() as session, session.begin():
        await session.execute(
            update(Goal).where(Goal.id == made["paused, never"].id).values(status=GoalStatus.PAUSED)
        )
    expected = {"never", "high, 2 min ago", "medium, 11 min ago", "low, 101 min ago"}
    assert await due_names(sessions, fast) == expected
    async with reading(sessions) as session:
        due = await schedule.due_goals(session, fast, 100)
    assert {d.slot for d in due if d.goal_id == made["never"].id} == {None}

    monitor = Monitor(fast, url)
    await monitor.open()
    try:
        assert await monitor.queue_due(due) == 4
        assert await due_names(sessions, fast) == set()  # queued: not again
        await monitor.check_soon([made["never"].id])  # already waiting: no second job
        jobs = await monitor.app.job_manager.list_jobs_async(task="check_goal")
        assert sorted(j.task_kwargs["goal_id"] for j in jobs) == sorted(str(d.goal_id) for d in due)
    finally:
        await monitor.close()


async def planned_jobs(sessions) -> float:
    """How many rows the planner believes the queue's jobs table has."""
    async with sessions() as session:
        return await session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'procrastinate_jobs'")
        )


async def test_a_tick_that_queues_a_burst_refreshes_the_queues_statistics(db, fast):
    url, sessions = db
    due = [schedule.Due(uuid.uuid4(), None, GoalPriority.MEDIUM) for _ in range(ANALYZE_AFTER + 10)]
    monitor = Monitor(fast, url)
    await monitor.open()
    try:
        assert await monitor.queue_due(due[:10]) == 10
        assert await planned_jobs(sessions) < 10  # a few: left to autovacuum
        assert await monitor.queue_due(due[10:]) == ANALYZE_AFTER
        assert await planned_jobs(sessions) == ANALYZE_AFTER + 10
    finally:
        await monitor.close()


async def test_goals_past_their_end_date_expire_with_a_notice(db):
    _, sessions = db
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with sessions() as session, session.begin():
        user = await make_user(session, active_goals_count=2)
        active = await make_goal(session, user, title="active", end_date=past)
        paused = await make_goal(
            session, user, title="paused", end_date=past, status=GoalStatus.PAUSED
        )
        later = await make_goal(session, user, title="later", end_date=past + timedelta(days=1))
    assert await schedule.expire_goals(sessions, 100) == 2
    async with sessions() as session:
        statuses = {
            g.title: g.status
            for g in await session.scalars(select(Goal).where(Goal.user_id == user.id))
        }
        owner = await session.get(User, user.id)
        told = list(
            await session.scalars(
                select(Notification.goal_id).where(
                    Notification.user_id == user.id, Notification.type == NotificationType.GOAL
                )
            )
        )
    assert statuses == {
        "active": GoalStatus.EXPIRED,
        "paused": GoalStatus.EXPIRED,
        "later": GoalStatus.ACTIVE,
    }
    assert sorted(told) == sorted([active.id, paused.id])
    assert owner.active_goals_count == 1 and owner.success_rate == 0
    assert later.id not in told
    assert await schedule.expire_goals(sessions, 100) == 0  # once
