"""get_balance: the signed-in user's token balance and spending."""

from typing import Any

from langchain.tools import ToolRuntime
from sqlalchemy import bindparam, select

from core.db import reading
from core.models import User
from core.plain import jsonable
from tools.common import agent_tool
from tools.context import AgentContext

# Built once: building the query costs more than running it.
BALANCE = select(User.token_balance, User.total_tokens_spent, User.active_goals_count).where(
    User.id == bindparam("user_id", type_=User.__table__.c.id.type)
)


@agent_tool()
async def get_balance(runtime: ToolRuntime[AgentContext]) -> dict[str, Any]:
    """The user's token balance, tokens spent so far and number of active goals."""
    ctx = runtime.context
    async with reading(ctx.sessions) as session:
        row = (await session.execute(BALANCE, {"user_id": ctx.user_id})).one()
    return jsonable(
        {
            "token_balance": row.token_balance,
            "total_tokens_spent": row.total_tokens_spent,
            "active_goals": row.active_goals_count,
        }
    )
