"""get_balance and get_spending: the signed-in user's tokens, what they have and what went."""

from typing import Any, Literal
from uuid import UUID

from langchain.tools import ToolRuntime
from pydantic import Field
from sqlalchemy import bindparam, select

from core import spending
from core.db import reading
from core.deals import owned_goal
from core.models import User
from core.plain import jsonable
from core.precompiled import Precompiled, pooled
from tools.common import ToolArgs, agent_tool
from tools.context import AgentContext

# Built once: building the query costs more than running it.
BALANCE = Precompiled.of(
    select(User.token_balance, User.total_tokens_spent, User.active_goals_count).where(
        User.id == bindparam("user_id", type_=User.__table__.c.id.type)
    )
)
# Both tools read the ledger before this turn is settled: the reply gets the balance after
# the turn's charge appended by the turn itself (agent.turn), so the model need not guess it.
BEFORE_THIS_TURN = "before this turn's charge; the balance after it is added to the reply"


class SpendingArgs(ToolArgs):
    period: Literal["today", "week", "month", "all"] = Field(
        default="all", description="today, week (since Monday), month (since the 1st) or all."
    )
    goal_id: UUID | None = Field(default=None, description="Only what this goal cost.")


@agent_tool()
async def get_balance(runtime: ToolRuntime[AgentContext]) -> dict[str, Any]:
    """The user's token balance, tokens spent so far and number of active goals."""
    ctx = runtime.context
    async with pooled(ctx.sessions) as conn:
        (row,) = await BALANCE.rows(conn, {"user_id": ctx.user_id})
    ctx.balance_asked = True
    return jsonable(
        {
            "token_balance": row.token_balance,
            "total_tokens_spent": row.total_tokens_spent,
            "active_goals": row.active_goals_count,
            "as_of": BEFORE_THIS_TURN,
        }
    )


@agent_tool(SpendingArgs)
async def get_spending(runtime: ToolRuntime[AgentContext], **fields: Any) -> dict[str, Any]:
    """Tokens the user spent (chat turns, searches, goal checks) today, this week, this
    month or in all, optionally on one goal. This turn's own charge is not in it yet."""
    args = SpendingArgs(**fields)
    ctx = runtime.context
    async with reading(ctx.sessions) as session:
        goal = await owned_goal(session, ctx.user_id, args.goal_id) if args.goal_id else None
        found = await spending.spent(session, ctx.user_id, args.period, args.goal_id)
    return jsonable(
        {
            "period": args.period,
            "since": found.since,
            "goal": {"id": goal.id, "title": goal.title} if goal else None,
            "tokens_spent": found.total,
            "charges": found.transactions,
            "as_of": BEFORE_THIS_TURN,
        }
    )
