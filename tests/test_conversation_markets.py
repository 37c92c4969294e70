"""The issue's conversation on the offline model against the sandbox markets: create a goal,
search for it, query its deals, pause it, check the balance. Asserts the frames, the stored
rows, tokens_used and the ledger, turn by turn and in total."""

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from core import migrate
from core.database import seed
from core.db import create_engine, session_factory
from core.models import ChatMessage, Deal, Goal, PriceTracking
from core.models.enums import GoalStatus, MessageRole
from tests.agent_helpers import Chat, balance, deductions, expected_charge, new_user
from tests.markets_support import market_settings, reset_markets, running_sandbox


@pytest.fixture(scope="module")
async def sessions(settings, make_database):
    """A private database: the sandbox fixture points its markets rows at the sandbox."""
    url = make_database()
    migrate.upgrade(url)
    engine = create_engine(settings.model_copy(update={"db_pool_max": 5}), url)
    await seed(engine)
    yield session_factory(engine, settings)
    await engine.dispose()


@pytest.fixture(scope="module")
async def sandbox(settings, sessions) -> AsyncIterator[str]:
    with running_sandbox(settings) as url:
        await reset_markets(sessions, url)
        yield url


@pytest.fixture
async def chat(sessions, sandbox, settings) -> AsyncIterator[Chat]:
    offline = market_settings(settings, openai_api_key=None)
    async with httpx.AsyncClient() as http:
        yield Chat(sessions, offline, http, await new_user(sessions, "100"))


async def scalar(sessions, query):
    async with sessions() as session:
        return await session.scalar(query)


async def test_create_search_query_pause_balance(chat: Chat, sessions):
    start = await balance(sessions, chat.user_id)
    turns = []

    async def say(text: str, tools: list[str], *services: str):
        outcome = await chat.say(text)
        assert chat.tools_called() == tools
        assert all(f["ok"] for f in chat.of_type("tool_result")), chat.of_type("tool_result")
        assert "".join(f["text"] for f in chat.of_type("delta")) == outcome.content
        assert outcome.charged == await expected_charge(sessions, outcome.tokens_used, *services)
        turns.append(outcome)
        return outcome

    await say(
        "Watch for a 27-inch 4K monitor under $400 by 2030-01-31", ["create_goal"], "goal_creation"
    )
    goal = await scalar(sessions, select(Goal).where(Goal.user_id == chat.user_id))

    found = await say(
        "Search deals for my monitor goal", ["list_goals", "search_markets"], "market_search"
    )
    search = chat.of_type("tool_call")[1]["args"]
    assert search["goal_id"] == str(goal.id) and search["max_price"] == "400.00"
    result = chat.of_type("tool_result")[1]["result"]
    saved = result["saved_as_deals"]
    assert saved > 0 and all(Decimal(p["price"]) <= 400 for p in result["products"])
    assert f"I saved {saved} deal" in found.content
    deals = await scalar(sessions, select(func.count()).where(Deal.goal_id == goal.id))
    tracked = await scalar(
        sessions,
        select(func.count()).select_from(PriceTracking).join(Deal).where(Deal.goal_id == goal.id),
    )
    assert deals == saved and tracked >= saved

    shown = await say("Show my deals, cheapest first", ["query_deals"], "deal_query")
    listed = chat.of_type("tool_result")[0]["result"]["deals"]
    prices = [Decimal(d["price"]) for d in listed]
    assert prices == sorted(prices) and len(listed) == min(saved, 10)
    assert listed[0]["title"] in shown.content

    await say("Pause the monitor goal", ["list_goals", "update_goal"])
    assert (await scalar(sessions, select(Goal.status).where(Goal.id == goal.id))) == (
        GoalStatus.PAUSED
    )

    checked = await say("What's my balance?", ["get_balance"])
    told = Decimal(chat.of_type("tool_result")[0]["result"]["token_balance"])
    assert told == turns[-2].token_balance  # the balance before this turn's own charge
    assert checked.token_balance == told - checked.charged

    # The ledger: one deduction per turn, each exactly the turn's charge, adding up.
    charged = [d.amount for d in await deductions(sessions, chat.user_id)]
    assert charged == [t.charged for t in turns]
    assert await balance(sessions, chat.user_id) == start - sum(charged)
    # Every turn stored twice over, with the tokens it used.
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(ChatMessage)
                .where(ChatMessage.user_id == chat.user_id)
                .order_by(ChatMessage.created_at)
            )
        )
    assert [r.role for r in rows] == [MessageRole.USER, MessageRole.ASSISTANT] * 5
    assert [r.tokens_used for r in rows[1::2]] == [t.tokens_used for t in turns]
    assert all(r.tokens_used > 0 for r in rows)
    assert rows[3].goal_id == goal.id  # the search turn concerned the goal


async def test_find_and_tell_me_creates_the_goal_and_searches_for_it(chat: Chat, sessions):
    """The README's opening request: one turn makes the goal and stores what it finds now."""
    text = "find me a 27-inch 4K monitor under $300, tell me if one drops below $250"
    outcome = await chat.say(text)
    assert chat.tools_called() == ["create_goal", "search_markets"]
    goal = await scalar(sessions, select(Goal).where(Goal.user_id == chat.user_id))
    assert (goal.max_budget, goal.target_price) == (Decimal("300.00"), Decimal("250.00"))
    search = chat.of_type("tool_call")[1]["args"]
    assert search["goal_id"] == str(goal.id) and search["max_price"] == "300.00"
    saved = chat.of_type("tool_result")[1]["result"]["saved_as_deals"]
    assert saved > 0
    assert await scalar(sessions, select(func.count()).where(Deal.goal_id == goal.id)) == saved
    assert "I'm watching for “27-inch 4K monitor”" in outcome.content
    assert f"I saved {saved} deal" in outcome.content
    assert outcome.charged == await expected_charge(
        sessions, outcome.tokens_used, "goal_creation", "market_search"
    )


async def test_find_and_tell_me_with_a_target_over_the_budget_stores_nothing(chat: Chat, sessions):
    refused = await chat.say("find me a 4K TV under $200, tell me if one drops below $250")
    assert chat.tools_called() == ["create_goal"]  # no search for a goal that was refused
    assert refused.content.startswith("That didn't work:")
    assert await scalar(sessions, select(func.count()).where(Goal.user_id == chat.user_id)) == 0
    assert refused.charged == await expected_charge(sessions, refused.tokens_used)


async def test_amounts_read_as_plain_decimals(chat: Chat):
    told = await chat.say("What's my balance?")  # a new user has spent 0, not 0E-8
    assert "spent 0 in all and have no active goals" in told.content, told.content
    assert "0E-8" not in told.content and ".00000000" not in told.content
    assert chat.of_type("tool_result")[0]["result"]["total_tokens_spent"] == "0.00000000"


async def test_another_users_goal_and_deals_stay_out_of_reach(chat: Chat, sessions, settings):
    offline = market_settings(settings, openai_api_key=None)
    async with httpx.AsyncClient() as http:
        victim = Chat(sessions, offline, http, await new_user(sessions, "100"))
        await victim.say("Watch for a 4K monitor under $500")
        await victim.say("Search deals for my monitor goal")
    theirs = await scalar(sessions, select(Goal).where(Goal.user_id == victim.user_id))
    their_deals = await scalar(sessions, select(func.count()).where(Deal.goal_id == theirs.id))
    assert their_deals > 0

    shown = await chat.say(f"Show my deals for goal {theirs.id}")
    assert chat.of_type("tool_call")[0]["args"]["goal_id"] == str(theirs.id)
    assert chat.of_type("tool_result")[0]["result"] == {"deals": []}
    assert "4K Monitor" not in shown.content

    refused = await chat.say(f"Search deals for goal {theirs.id}")
    assert chat.tools_called() == ["list_goals"]  # not among mine: no search for it
    assert "couldn't find" in refused.content
    assert await scalar(sessions, select(func.count()).where(Deal.goal_id == theirs.id)) == (
        their_deals
    )
    async with sessions() as session:
        mine = await session.scalars(
            select(ChatMessage.goal_id).where(ChatMessage.user_id == chat.user_id)
        )
        assert set(mine) == {None}  # no message of mine is linked to their goal
