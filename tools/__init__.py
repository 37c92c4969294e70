"""The agent's tools: thin LangChain tools over core/, bound to the signed-in user."""

from langchain_core.tools import BaseTool

from tools.account import get_balance, get_spending
from tools.deals import query_deals, search_markets, track_product_url
from tools.goals import create_goal, list_goals, update_goal
from tools.notifications import list_notifications
from tools.prices import price_history

ALL_TOOLS: list[BaseTool] = [
    create_goal,
    list_goals,
    update_goal,
    search_markets,
    query_deals,
    track_product_url,
    price_history,
    get_balance,
    get_spending,
    list_notifications,
]
