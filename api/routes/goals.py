"""The signed-in user's goals: list them, read one with its deals and what its checks cost,
pause, resume or cancel one and change its budget, target price or deadline."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AfterValidator, AliasPath, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from api.decimals import PlainDecimal, Price
from api.deps import ActingPrincipal, CurrentPrincipal, SessionDep, SessionsDep
from api.paging import Page, PageQuery
from api.problems import ANY_SCOPE, CHAT_SCOPES, declared
from core import goals
from core.db import in_transaction
from core.goals import GoalAction
from core.models import Goal
from core.models.enums import (
    DealStatus,
    GoalPriority,
    GoalStatus,
    MarketCategory,
    TransactionStatus,
)

router = APIRouter(prefix="/goals", tags=["goals"])

# The status a client asks for, as the action that leads there.
ACTIONS: dict[str, GoalAction] = {
    "paused": GoalAction.PAUSE,
    "active": GoalAction.RESUME,
    "cancelled": GoalAction.CANCEL,
}


class GoalQuery(PageQuery):
    status: GoalStatus | None = None


class GoalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: GoalStatus
    priority: GoalPriority
    title: str
    description: str | None
    category: MarketCategory
    constraints: dict[str, Any]
    max_budget: PlainDecimal | None
    target_price: PlainDecimal | None
    min_discount_percent: PlainDecimal | None
    notification_threshold: PlainDecimal | None
    auto_buy_threshold: PlainDecimal | None
    max_matches: int | None
    max_tokens: PlainDecimal | None
    total_tokens_spent: PlainDecimal
    total_matches_found: int
    end_date: datetime | None
    last_checked_at: datetime | None
    created_at: datetime
    meta_data: dict[str, Any]


class GoalDeal(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    price: PlainDecimal = Field(validation_alias="current_price")
    original_price: PlainDecimal | None
    discount_percent: PlainDecimal | None
    status: DealStatus
    market: str | None = Field(default=None, validation_alias=AliasPath("meta_data", "market"))
    url: str
    last_checked_at: datetime | None


class SpendEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    amount: PlainDecimal
    status: TransactionStatus
    description: str | None
    created_at: datetime


class Spend(BaseModel):
    total_tokens_spent: PlainDecimal
    transactions: list[SpendEntry]


class GoalDetailOut(GoalOut):
    deals: list[GoalDeal]
    spend: Spend


class GoalChanges(BaseModel):
    """Every field optional; one left out is kept. `status` is where to take the goal."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["paused", "active", "cancelled"] | None = None
    max_budget: Price | None = None
    target_price: Price | None = None
    end_date: Annotated[datetime, AfterValidator(goals.as_utc)] | None = None

    @field_validator("*", mode="before")
    @classmethod
    def not_null(cls, value: Any) -> Any:
        # null would read as "clear it", which this endpoint does not do: say so.
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value


def out(goal: Goal) -> GoalOut:
    return GoalOut.model_validate(goal)


@router.get("", **declared(scopes=ANY_SCOPE))
async def list_goals(
    session: SessionDep, principal: CurrentPrincipal, query: Annotated[GoalQuery, Query()]
) -> Page[GoalOut]:
    rows, total = await goals.goals_page(
        session, principal.user_id, query.status, limit=query.limit, offset=query.offset
    )
    return Page(items=[out(g) for g in rows], total=total, limit=query.limit, offset=query.offset)


@router.get("/{goal_id}", **declared("goal_not_found", scopes=ANY_SCOPE))
async def get_goal(
    goal_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> GoalDetailOut:
    detail = await goals.goal_detail(session, principal.user_id, goal_id)
    spend = Spend(
        total_tokens_spent=detail.goal.total_tokens_spent,
        transactions=[SpendEntry.model_validate(t) for t in detail.transactions],
    )
    return GoalDetailOut(
        **out(detail.goal).model_dump(),
        deals=[GoalDeal.model_validate(d) for d in detail.deals],
        spend=spend,
    )


@router.patch(
    "/{goal_id}",
    **declared("goal_not_found", "invalid_transition", "goal_cancelled", scopes=CHAT_SCOPES),
)
async def change_goal(
    goal_id: uuid.UUID, changes: GoalChanges, sessions: SessionsDep, principal: ActingPrincipal
) -> GoalOut:
    async def work(session: AsyncSession) -> GoalOut:
        goal = await goals.update_goal(
            session,
            principal.user_id,
            goal_id,
            action=ACTIONS[changes.status] if changes.status else None,
            max_budget=changes.max_budget,
            target_price=changes.target_price,
            end_date=changes.end_date,
        )
        return out(goal)

    return await in_transaction(sessions, work)
