"""price_history: how a deal's price moved, in figures a reply can use."""

from typing import Any
from uuid import UUID

from langchain.tools import ToolRuntime
from pydantic import Field

from core import deals
from core.db import reading
from core.plain import jsonable
from core.price_trend import summarise
from tools.common import ToolArgs, agent_tool
from tools.context import AgentContext
from tools.deals import deal_view


class PriceHistoryArgs(ToolArgs):
    deal_id: UUID = Field(description="One of the user's deals (from query_deals or a search).")


@agent_tool(PriceHistoryArgs)
async def price_history(runtime: ToolRuntime[AgentContext], **fields: Any) -> dict[str, Any]:
    """A deal's observed prices: lowest, highest, first and current, and the trend."""
    args = PriceHistoryArgs(**fields)
    ctx = runtime.context
    async with reading(ctx.sessions) as session:
        deal = await deals.deal_of(session, ctx.user_id, args.deal_id)
        points = await deals.price_history(session, ctx.user_id, args.deal_id) or []
    summary = summarise(points)
    figures = (
        {
            "lowest": summary.low,
            "highest": summary.high,
            "first": summary.first,
            "current": summary.current,
            "observations": summary.points,
            "trend": summary.trend,
            "since": points[0].tracked_at,
        }
        if summary
        else None
    )
    return {"deal": deal_view(deal), "history": jsonable(figures)}
