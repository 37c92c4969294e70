"""list_notifications: the user's latest alerts (new matches, price drops, notices)."""

from typing import Any

from langchain.tools import ToolRuntime
from pydantic import Field

from core import notifications
from core.db import reading
from core.plain import jsonable
from tools.common import ToolArgs, agent_tool
from tools.context import AgentContext


class NotificationsArgs(ToolArgs):
    limit: int = Field(default=5, ge=1, le=20, description="How many of the newest to return.")


@agent_tool(NotificationsArgs)
async def list_notifications(runtime: ToolRuntime[AgentContext], **fields: Any) -> dict[str, Any]:
    """The user's newest notifications (alerts), each saying whether it was read."""
    args = NotificationsArgs(**fields)
    ctx = runtime.context
    async with reading(ctx.sessions) as session:
        rows, total = await notifications.page(session, ctx.user_id, limit=args.limit, offset=0)
    return {
        "total": total,
        "notifications": [
            jsonable(
                {
                    "title": row.title,
                    "message": row.message,
                    "type": row.type,
                    "created_at": row.created_at,
                    "read": row.read_at is not None,
                }
            )
            for row in rows
        ],
    }
