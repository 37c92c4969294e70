"""get_balance: the signed-in user's token balance and spending."""

from typing import Any

from langchain.tools import ToolRuntime
from sqlalchemy import select

from core.models import User
from core.plain import jsonable
from tools.common import agent_tool
from tools.context import AgentContext


@agent_tool()
async def get_balance(runtime: ToolRuntime[AgentContext]) -> dict[str, Any]:
    """The user's token balance, tokens spent so far and number of active goals."""
    ctx = runtime.context
    query = select(User.token_balance, User.total_tokens_spent, User.active_goals_count)
    async with ctx.sessions() as session:
        row = (await session.execute(query.where(User.id == ctx.user_id))).one()
    return jsonable(
        {
            "token_balance": row.token_balance,
            "total_tokens_spent": row.total_tokens_spent,
            "active_goals": row.active_goals_count,
        }
    )
