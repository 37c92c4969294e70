"""Goals: create, list and change a user's goals, keeping users.active_goals_count in step.

Every function takes the acting user's id and touches only that user's goals; a goal id
that belongs to someone else is indistinguishable from one that does not exist.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Numeric, Select, case, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import paging
from core.config import Settings
from core.models import Deal, Goal, TokenTransaction, User
from core.models.enums import GoalPriority, GoalStatus, MarketCategory

# How many of a goal's deals and token transactions its detail shows.
DETAIL_ROWS = 50


class GoalError(Exception):
    """A goal request that cannot be done; the message says why, for the user."""


class GoalNotFound(GoalError):
    def __init__(self, goal_id: uuid.UUID) -> None:
        super().__init__(f"No goal {goal_id} among your goals.")


class InvalidGoalValue(GoalError):
    """A value the goal cannot take; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class GoalConflict(GoalError):
    """The goal's status does not allow this; `code` names why."""

    def __init__(self, message: str, code: str = "invalid_transition") -> None:
        super().__init__(message)
        self.code = code


class GoalAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


# action -> (statuses it applies to, resulting status)
TRANSITIONS: dict[GoalAction, tuple[frozenset[GoalStatus], GoalStatus]] = {
    GoalAction.PAUSE: (frozenset({GoalStatus.ACTIVE}), GoalStatus.PAUSED),
    GoalAction.RESUME: (frozenset({GoalStatus.PAUSED}), GoalStatus.ACTIVE),
    GoalAction.CANCEL: (frozenset({GoalStatus.ACTIVE, GoalStatus.PAUSED}), GoalStatus.CANCELLED),
}


# Statuses a goal does not leave: success_rate is completed / these.
ENDED = frozenset(
    {
        GoalStatus.COMPLETED,
        GoalStatus.CANCELLED,
        GoalStatus.FAILED,
        GoalStatus.EXPIRED,
        GoalStatus.ERROR,
    }
)


def check_interval_s(settings: Settings, priority: GoalPriority) -> float:
    """How often the monitor re-checks an active goal of this priority."""
    return {
        GoalPriority.HIGH: settings.monitor_interval_high_s,
        GoalPriority.MEDIUM: settings.monitor_interval_medium_s,
        GoalPriority.LOW: settings.monitor_interval_low_s,
    }[priority]


@dataclass
class GoalDraft:
    title: str
    category: MarketCategory = MarketCategory.OTHER
    constraints: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    max_budget: Decimal | None = None
    target_price: Decimal | None = None
    min_discount_percent: Decimal | None = None
    notification_threshold: Decimal | None = None
    auto_buy_threshold: Decimal | None = None
    max_matches: int | None = None
    max_tokens: Decimal | None = None
    end_date: datetime | None = None
    priority: GoalPriority = GoalPriority.MEDIUM


@dataclass
class GoalDetail:
    goal: Goal
    deals: list[Deal]  # cheapest first
    transactions: list[TokenTransaction]  # what its checks cost, newest first


def as_utc(value: datetime | None) -> datetime | None:
    """The time in UTC; one without a zone is taken as UTC. A time that is past the year
    9999 in UTC is refused (ValueError): Python could not read it back from the database."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is past the year 9999 in UTC") from None


def check_prices(
    max_budget: Decimal | None, target_price: Decimal | None, field: str = "target_price"
) -> None:
    """`field`: the one to blame, the one the caller is changing."""
    if max_budget is not None and target_price is not None and target_price > max_budget:
        raise InvalidGoalValue(
            field, f"The target price {target_price} is above the budget {max_budget}."
        )


def check_deadline(end_date: datetime | None) -> None:
    if end_date is not None and as_utc(end_date) <= datetime.now(UTC):
        raise InvalidGoalValue("end_date", "The deadline is in the past.")


async def adjust_active_count(session: AsyncSession, user_id: uuid.UUID, delta: int) -> None:
    # One UPDATE relative to the stored value, so concurrent changes cannot lose a count.
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(active_goals_count=User.active_goals_count + delta)
    )


async def create_goal(session: AsyncSession, user_id: uuid.UUID, draft: GoalDraft) -> Goal:
    check_prices(draft.max_budget, draft.target_price)
    check_deadline(draft.end_date)
    goal = Goal(user_id=user_id, status=GoalStatus.ACTIVE, **vars(draft))
    session.add(goal)
    await session.flush()
    await adjust_active_count(session, user_id, +1)
    return goal


def _newest_first(user_id: uuid.UUID, status: GoalStatus | None) -> Select[tuple[Goal]]:
    query = select(Goal).where(Goal.user_id == user_id)
    if status is not None:
        query = query.where(Goal.status == status)
    return query.order_by(Goal.created_at.desc(), Goal.id.desc())


async def list_goals(
    session: AsyncSession, user_id: uuid.UUID, status: GoalStatus | None = None, limit: int = 50
) -> list[Goal]:
    return list(await session.scalars(_newest_first(user_id, status).limit(limit)))


async def goals_page(
    session: AsyncSession,
    user_id: uuid.UUID,
    status: GoalStatus | None = None,
    *,
    limit: int,
    offset: int,
) -> tuple[list[Goal], int]:
    """One page of the user's goals, newest first, and how many there are in all."""
    return await paging.page(session, _newest_first(user_id, status), limit=limit, offset=offset)


async def get_goal(
    session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID, *, for_update: bool = False
) -> Goal:
    query = select(Goal).where(Goal.id == goal_id, Goal.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    goal = await session.scalar(query)
    if goal is None:
        raise GoalNotFound(goal_id)
    return goal


async def goal_detail(session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID) -> GoalDetail:
    """The goal, its cheapest deals and its latest token transactions (DETAIL_ROWS each)."""
    goal = await get_goal(session, user_id, goal_id)
    deals = await session.scalars(
        select(Deal)
        .where(Deal.goal_id == goal.id)
        .order_by(Deal.current_price, Deal.id)
        .limit(DETAIL_ROWS)
    )
    spent = await session.scalars(
        select(TokenTransaction)
        .where(TokenTransaction.goal_id == goal.id, TokenTransaction.user_id == user_id)
        .order_by(TokenTransaction.created_at.desc(), TokenTransaction.id.desc())
        .limit(DETAIL_ROWS)
    )
    return GoalDetail(goal, list(deals), list(spent))


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    # The lock an UPDATE of the row takes. The ledger locks the user row, then the goal's;
    # taking them in the same order here means a debit and a pause cannot deadlock.
    await session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))


async def update_goal(
    session: AsyncSession,
    user_id: uuid.UUID,
    goal_id: uuid.UUID,
    *,
    action: GoalAction | None = None,
    max_budget: Decimal | None = None,
    target_price: Decimal | None = None,
    end_date: datetime | None = None,
) -> Goal:
    """Pause, resume or cancel a goal and/or change its budget, target price or deadline.
    None means "keep"; on any refusal nothing is changed (the caller rolls back)."""
    if action is not None:  # it may change users.active_goals_count
        await lock_user(session, user_id)
    goal = await get_goal(session, user_id, goal_id, for_update=True)
    if max_budget is not None or target_price is not None or end_date is not None:
        if goal.status == GoalStatus.CANCELLED:
            raise GoalConflict(
                "That goal is cancelled; create a new one instead.", "goal_cancelled"
            )
        check_prices(
            max_budget if max_budget is not None else goal.max_budget,
            target_price if target_price is not None else goal.target_price,
            "target_price" if target_price is not None else "max_budget",
        )
        check_deadline(end_date)
        if max_budget is not None:
            goal.max_budget = max_budget
        if target_price is not None:
            goal.target_price = target_price
        if end_date is not None:
            goal.end_date = as_utc(end_date)
    if action is not None:
        allowed, result = TRANSITIONS[action]
        if goal.status not in allowed:
            raise GoalConflict(f"Cannot {action.value} a goal that is {goal.status.value}.")
        await set_status(session, goal, result, {"event": action.value, "by": "user"})
    await session.flush()
    return goal


async def set_status(
    session: AsyncSession, goal: Goal, status: GoalStatus, reason: dict[str, Any]
) -> None:
    """Move a goal (locked by the caller) to `status`, noting why in meta_data.status_reason,
    with the owner's active_goals_count and success_rate kept in step."""
    delta = (status == GoalStatus.ACTIVE) - (goal.status == GoalStatus.ACTIVE)
    goal.status = status
    goal.meta_data = {
        **goal.meta_data,
        "status_reason": {**reason, "at": datetime.now(UTC).isoformat()},
    }
    await session.flush()
    if delta:
        await adjust_active_count(session, goal.user_id, delta)
    if status in ENDED:
        await refresh_success_rate(session, goal.user_id)


async def refresh_success_rate(session: AsyncSession, user_id: uuid.UUID) -> None:
    """users.success_rate: the user's completed goals over their ended ones (0 when none)."""
    mine = select(Goal.status).where(Goal.user_id == user_id).subquery()
    ended = func.count().filter(mine.c.status.in_(ENDED))
    completed = func.count().filter(mine.c.status == GoalStatus.COMPLETED)
    ratio = func.round(cast(completed, Numeric) / ended, 4)
    rate = select(case((ended == 0, 0), else_=ratio)).scalar_subquery()
    await session.execute(update(User).where(User.id == user_id).values(success_rate=rate))
