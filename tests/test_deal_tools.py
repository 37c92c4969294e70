"""The deal tools as the agent's ToolNode runs them: the user comes from the context,
arguments are validated, errors come back to the model as messages."""

import json
import uuid
from decimal import Decimal

import httpx
import pytest
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from sqlalchemy import func, select

from core.models import Deal, Goal, Notification, User
from core.models.enums import GoalStatus, MarketType, NotificationType
from tests.markets_support import (
    admin,
    make_user_goal,
    market_settings,
    reset_markets,
    running_sandbox,
    serving_fixture_pages,
    set_fault,
)
from tools.context import AgentContext
from tools.deals import query_deals, search_markets, track_product_url

TOOLS = [search_markets, query_deals, track_product_url]


@pytest.fixture(scope="module")
def sessions(module_db):
    return module_db.sessions


@pytest.fixture(scope="module")
async def sandbox(settings, sessions):
    with running_sandbox(settings) as url:
        await reset_markets(sessions, url)
        yield url


@pytest.fixture(scope="module")
def pages():
    with serving_fixture_pages() as url:
        yield url


@pytest.fixture(scope="module")
def graph():
    builder = StateGraph(MessagesState, context_schema=AgentContext)
    builder.add_node("tools", ToolNode(TOOLS))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    return builder.compile()


@pytest.fixture
async def context(sessions, sandbox, settings):
    user, goal = await make_user_goal(sessions)
    async with httpx.AsyncClient() as http:
        ctx = AgentContext(
            user_id=user.id,
            sessions=sessions,
            http=http,
            settings=market_settings(settings, track_private_hosts=True),
        )
        ctx.goal = goal  # for the tests' own use
        yield ctx


async def call(graph, ctx, name, **args):
    message = AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": "call-1"}])
    result = (await graph.ainvoke({"messages": [message]}, context=ctx))["messages"][-1]
    if result.status == "error":
        return result.content
    return json.loads(result.content)


async def deal_count(sessions, goal_id) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).where(Deal.goal_id == goal_id))


async def test_search_markets_saves_results_for_the_users_goal(graph, context, sessions):
    goal = context.goal
    out = await call(graph, context, "search_markets", query="4k monitor", goal_id=str(goal.id))
    assert {m["status"] for m in out["markets"]} == {"ok"}
    assert len(out["markets"]) == 5
    assert out["products"] and all("4K Monitor" in p["title"] for p in out["products"])
    assert out["saved_as_deals"] == await deal_count(sessions, goal.id) > 0
    assert [(s.service_type, s.goal_id) for s in context.services_used] == [
        ("market_search", goal.id)
    ]


async def test_a_search_no_market_answered_is_not_charged(graph, context, sessions, sandbox):
    """Like a monitor check: work that failed everywhere is not paid for."""
    for market in MarketType:
        await set_fault(sandbox, market.value, "error")
    try:
        out = await call(graph, context, "search_markets", query="4k monitor")
    finally:
        await admin(sandbox, "DELETE", "faults")
    assert {m["status"] for m in out["markets"]} == {"error"} and out["products"] == []
    assert context.services_used == []


async def test_search_markets_refuses_another_users_goal(graph, context, sessions, sandbox):
    _, other_goal = await make_user_goal(sessions)
    asked = sum((await admin(sandbox, "GET", "state"))["requests"].values())
    out = await call(graph, context, "search_markets", query="tv", goal_id=str(other_goal.id))
    assert isinstance(out, str) and "no goal" in out
    assert await deal_count(sessions, other_goal.id) == 0
    assert context.services_used == []  # nothing to charge
    assert sum((await admin(sandbox, "GET", "state"))["requests"].values()) == asked


@pytest.mark.parametrize(
    "args",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "tv", "limit": 500},
        {"query": "tv", "markets": ["aliexpress"]},
    ],
)
async def test_bad_arguments_come_back_as_errors(graph, context, args):
    out = await call(graph, context, "search_markets", **args)
    assert isinstance(out, str) and "Error" in out
    assert context.services_used == []


async def test_query_deals_sees_only_the_users_deals(graph, context, sessions):
    goal = context.goal
    await call(graph, context, "search_markets", query="air fryer", goal_id=str(goal.id))
    out = await call(graph, context, "query_deals", text="fryer", sort="price", limit=50)
    assert out["deals"] and all(d["goal_id"] == str(goal.id) for d in out["deals"])
    prices = [float(d["price"]) for d in out["deals"]]
    assert prices == sorted(prices)
    stranger = AgentContext(
        user_id=uuid.uuid4(), sessions=sessions, http=context.http, settings=context.settings
    )
    assert (await call(graph, stranger, "query_deals"))["deals"] == []
    assert stranger.services_used[0].service_type == "deal_query"


async def test_track_product_url(graph, context, pages):
    # No goal named, none in the chat: the user's only live goal takes it.
    out = await call(graph, context, "track_product_url", url=f"{pages}/target_jsonld.html")
    assert (out["deal"]["price"], out["deal"]["market"]) == ("89.99", "target")
    assert out["goal"] == {
        "id": str(context.goal.id),
        "title": context.goal.title,
        "status": "active",
    }
    context.goal_id = context.goal.id
    out = await call(graph, context, "track_product_url", url=f"{pages}/target_jsonld.html")
    assert out["deal"]["goal_id"] == str(context.goal.id)
    # Pages that cannot be read are told in plain words, with what to do next.
    out = await call(graph, context, "track_product_url", url=f"{pages}/not_a_product.html")
    assert isinstance(out, str) and "doesn't show a product with a price" in out
    out = await call(graph, context, "track_product_url", url="http://127.0.0.1:9/nothing")
    assert isinstance(out, str) and "couldn't read that page just now" in out
    out = await call(graph, context, "track_product_url", url="https://no-such-host.invalid/p")
    assert isinstance(out, str) and "its address doesn't exist. Check the link." in out
    assert "Errno" not in out
    context.settings = context.settings.model_copy(update={"track_private_hosts": False})
    out = await call(graph, context, "track_product_url", url=f"{pages}/target_jsonld.html")
    assert isinstance(out, str) and "only read public shop pages" in out
    # Only the pages that were read and tracked are charged.
    assert [s.service_type for s in context.services_used] == ["url_tracking"] * 2


async def test_track_product_url_with_no_goal_or_several_says_which(
    graph, context, sessions, pages
):
    url = f"{pages}/target_jsonld.html"
    two_goals, _ = await make_user_goal(sessions)
    alone = User(email=f"{uuid.uuid4().hex[:10]}@example.com", password="x")
    async with sessions() as session, session.begin():
        session.add(Goal(user_id=two_goals.id, title="Sony headphones", category="electronics"))
        session.add(alone)
    asked = {}
    for user in (two_goals, alone):
        ctx = AgentContext(
            user_id=user.id, sessions=sessions, http=context.http, settings=context.settings
        )
        asked[user.id] = await call(graph, ctx, "track_product_url", url=url)
        assert ctx.services_used == []
    assert "Which goal should I track it under" in asked[two_goals.id]
    assert "“Sony headphones”" in asked[two_goals.id] and "goal_id" not in asked[two_goals.id]
    assert "you have none yet" in asked[alone.id]


async def test_a_search_the_goal_cannot_afford_pauses_it_and_searches_nothing(
    graph, context, sessions, sandbox
):
    goal = context.goal
    async with sessions() as session, session.begin():
        row = await session.get(Goal, goal.id)
        row.max_tokens, row.total_tokens_spent = Decimal("1"), Decimal("0.8")
    asked = sum((await admin(sandbox, "GET", "state"))["requests"].values())
    out = await call(graph, context, "search_markets", query="4k monitor", goal_id=str(goal.id))
    assert isinstance(out, str) and "0.8 of its 1 tokens; this search costs 0.5" in out
    assert sum((await admin(sandbox, "GET", "state"))["requests"].values()) == asked
    assert context.services_used == [] and await deal_count(sessions, goal.id) == 0
    async with sessions() as session:
        paused = await session.get(Goal, goal.id)
        (notice,) = await session.scalars(
            select(Notification).where(Notification.goal_id == goal.id)
        )
    assert paused.status == GoalStatus.PAUSED
    assert paused.meta_data["status_reason"]["event"] == "paused_token_limit"
    assert notice.type == NotificationType.GOAL and notice.message == out
