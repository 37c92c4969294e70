"""The goal tools: create_goal, list_goals, update_goal, for the signed-in user only."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from langchain.tools import ToolRuntime
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core import goals, ledger
from core.db import reading
from core.models import Goal
from core.models.enums import GoalPriority, GoalStatus, MarketCategory
from core.plain import amount_text, jsonable
from tools.common import Percent, Price, ToolArgs, agent_tool
from tools.context import AgentContext, ServiceUse

Deadline = Annotated[datetime, AfterValidator(goals.as_utc)]


class Constraints(BaseModel):
    model_config = ConfigDict(extra="allow")

    keywords: list[str] = Field(default=[], description="Words a matching offer must contain.")
    brands: list[str] = Field(default=[], description="Acceptable brands; empty means any.")
    condition: Literal["new", "used", "refurbished", "any"] = Field(
        default="any", description="Item condition wanted."
    )


class CreateGoalArgs(ToolArgs):
    title: str = Field(min_length=2, max_length=255, description="What to watch for.")
    category: MarketCategory = Field(
        default=MarketCategory.OTHER, description="The product's market category."
    )
    constraints: Constraints = Field(default_factory=Constraints, description="Match rules.")
    max_budget: Price | None = Field(default=None, description="Most the user will pay (USD).")
    target_price: Price | None = Field(
        default=None, description="Price that counts as a match (USD), at most max_budget."
    )
    min_discount_percent: Percent | None = Field(
        default=None, description="Smallest discount off the original price, 0-100."
    )
    notification_threshold: Percent | None = Field(
        default=None, description="Notify when a price drops by this percent, 0-100."
    )
    auto_buy_threshold: Percent | None = Field(
        default=None, description="Discount percent at which to buy automatically, 0-100."
    )
    max_matches: int | None = Field(default=None, gt=0, le=1000, description="Stop after N.")
    max_tokens: Decimal | None = Field(
        default=None, gt=0, max_digits=18, description="Most tokens this goal may spend."
    )
    end_date: Deadline | None = Field(
        default=None, description="Deadline, ISO 8601 (e.g. 2026-12-31 or 2026-12-31T18:00Z)."
    )
    priority: GoalPriority = Field(default=GoalPriority.MEDIUM, description="high|medium|low")


class ListGoalsArgs(ToolArgs):
    status: GoalStatus | None = Field(default=None, description="Only goals in this status.")


class UpdateGoalArgs(ToolArgs):
    goal_id: UUID = Field(description="The id of one of the user's goals (from list_goals).")
    action: goals.GoalAction | None = Field(default=None, description="pause, resume or cancel.")
    max_budget: Price | None = Field(default=None, description="New budget (USD).")
    target_price: Price | None = Field(default=None, description="New target price (USD).")


def goal_summary(goal: Goal) -> dict[str, Any]:
    return jsonable(
        {
            "id": goal.id,
            "title": goal.title,
            "category": goal.category,
            "status": goal.status,
            "priority": goal.priority,
            "max_budget": goal.max_budget,
            "target_price": goal.target_price,
            "min_discount_percent": goal.min_discount_percent,
            "end_date": goal.end_date,
            "constraints": goal.constraints,
        }
    )


def concerns(ctx: AgentContext, goal: Goal) -> None:
    """Remember the goal this turn is about, unless the turn already names one."""
    if ctx.goal_id is None:
        ctx.goal_id = goal.id


@agent_tool(CreateGoalArgs)
async def create_goal(runtime: ToolRuntime[AgentContext], **fields: Any) -> dict[str, Any]:
    """Create a goal: a product the user wants, watched across the markets until the deadline.

    Use for requests like "watch for a 27-inch 4K monitor under $300 by Friday"."""
    args = CreateGoalArgs(**fields)
    ctx = runtime.context
    draft = goals.GoalDraft(
        **args.model_dump(exclude={"constraints"}), constraints=args.constraints.model_dump()
    )
    async with ctx.sessions.begin() as session:
        goal = await goals.create_goal(session, ctx.user_id, draft)
        check = await ledger.current_price(session, "market_search")
    ctx.services_used.append(ServiceUse("goal_creation", goal_id=goal.id))
    ctx.new_goals.append(goal.id)
    concerns(ctx, goal)
    every = goals.check_interval_s(ctx.settings, goal.priority)
    watching = {
        "first_check": "within seconds",
        "then_every": duration_text(every),
        "tokens_per_check": amount_text(ledger.cost(check)),
        "alerts": "new matches and price drops arrive as notifications",
    }
    return {"goal": goal_summary(goal), "watching": watching}


def duration_text(seconds: float) -> str:
    """900 -> "15 minutes", 3600 -> "hour", 21600 -> "6 hours"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return unit if count == 1 else f"{count} {unit}s"
    return f"{seconds:g} seconds"


@agent_tool(ListGoalsArgs)
async def list_goals(runtime: ToolRuntime[AgentContext], **fields: Any) -> dict[str, Any]:
    """List the user's goals, newest first, optionally only those in one status."""
    args = ListGoalsArgs(**fields)
    ctx = runtime.context
    async with reading(ctx.sessions) as session:
        found = await goals.list_goals(session, ctx.user_id, args.status)
    return {"goals": [goal_summary(g) for g in found]}


@agent_tool(UpdateGoalArgs)
async def update_goal(runtime: ToolRuntime[AgentContext], **fields: Any) -> dict[str, Any]:
    """Pause, resume or cancel one of the user's goals, or change its budget or target price."""
    args = UpdateGoalArgs(**fields)
    if args.action is None and args.max_budget is None and args.target_price is None:
        raise goals.GoalError("Say what to change: an action, max_budget or target_price.")
    ctx = runtime.context
    async with ctx.sessions.begin() as session:
        goal = await goals.update_goal(
            session,
            ctx.user_id,
            args.goal_id,
            action=args.action,
            max_budget=args.max_budget,
            target_price=args.target_price,
        )
    concerns(ctx, goal)
    return {"goal": goal_summary(goal)}
