"""Whole conversations over the WebSocket, as a client sees them: sign up over REST, connect,
chat on the offline model; then the frames, the stored rows, tokens_used and the ledger.
Plus the provider failing (a local chat-completions server) and an empty purse."""

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agent.tokens import count_text
from api.main import create_app
from core.models.deals import Deal
from core.models.enums import DealStatus, GoalStatus, MessageRole
from core.models.goals import Goal
from tests.agent_helpers import as_told, balance, expected_charge, messages
from tests.chat_accounts import charges, make_user, registered_user
from tests.chat_client import chat, ready_chat, recv, recv_until, send
from tests.fake_openai import Fail, Text, ToolCalls, fake_openai
from tests.live_server import serve_in_thread


async def say(ws, msg_id: str, text: str, *services: str, sessions, **extra) -> dict[str, Any]:
    """One turn; checks its frames and its bill; returns the frames by kind. (Notifications
    of the goal's matches arrive live at any time: not the turn's frames.)"""
    frames = [f for f in await chat(ws, msg_id, text, **extra) if f["type"] != "notification"]
    ack, done = frames[0], frames[-1]
    assert (ack["type"], ack["id"], done["type"], done["id"]) == (
        "ack",
        msg_id,
        "assistant_message",
        msg_id,
    ), frames
    middle = frames[1:-1]
    assert {f["turn_id"] for f in middle} <= {done["turn_id"]}
    calls = [f for f in middle if f["type"] == "tool_call"]
    results = [f for f in middle if f["type"] == "tool_result"]
    assert [c["call_id"] for c in calls] == [r["call_id"] for r in results]
    assert "".join(f["text"] for f in middle if f["type"] == "delta") == done["content"]
    charge = await expected_charge(sessions, done["tokens_used"], *services)
    assert Decimal(done["charged"]) == charge
    return {"done": done, "tools": [c["name"] for c in calls], "results": results}


@pytest.fixture(scope="module")
def own_markets(module_db, settings) -> Iterator[tuple[str, Any]]:
    """An app on a database of this module's own, with its own sandbox. (Every app started
    on the session's database points its markets rows at its sandbox, which stops with it:
    the rows may lead nowhere, and a conversation searching through them finds nothing.)"""
    app_settings = settings.model_copy(
        update={"database_url": module_db.url, "sandbox_port": 0, "chat_lock_connections": 2}
    )
    with serve_in_thread(create_app(app_settings)) as base_url:
        yield base_url, module_db.sessions


async def test_a_whole_conversation(own_markets):
    base_url, sessions = own_markets
    user = await registered_user(base_url)
    ws, ready = await ready_chat(base_url, user.token)
    assert Decimal(ready["token_balance"]) == user.balance > 0
    run = {"sessions": sessions}

    created = await say(
        ws,
        "c1",
        "Watch for a 27-inch 4K monitor under $300 by 2030-01-31, at least 15% off",
        "goal_creation",
        **run,
    )
    assert created["tools"] == ["create_goal"] and created["results"][0]["ok"] is True
    goal_id = created["results"][0]["result"]["goal"]["id"]

    searched = await say(
        ws, "c2", "Search deals for my monitor goal", "market_search", goal_id=goal_id, **run
    )
    assert searched["tools"] == ["list_goals", "search_markets"]
    found = searched["results"][1]["result"]
    assert searched["results"][1]["ok"] is True and found["saved_as_deals"] > 0

    listed = await say(ws, "c3", "Show my deals, cheapest first", "deal_query", **run)
    assert listed["tools"] == ["query_deals"] and listed["results"][0]["ok"] is True

    paused = await say(ws, "c4", "Pause the monitor goal", **run)
    assert paused["tools"][-1] == "update_goal"

    shown = await say(ws, "c5", "What's my balance?", **run)
    assert shown["tools"] == ["get_balance"]
    told = Decimal(shown["results"][0]["result"]["token_balance"])
    assert told == Decimal(paused["done"]["token_balance"])

    # Stored: ten messages, the user's counted with tiktoken, the replies as the frames said.
    stored = await messages(sessions, user.id)
    assert [m.role for m in stored] == [MessageRole.USER, MessageRole.ASSISTANT] * 5
    turns = [created, searched, listed, paused, shown]
    for (asked, answered), turn in zip(
        zip(stored[::2], stored[1::2], strict=True), turns, strict=True
    ):
        assert asked.tokens_used == count_text(asked.content)
        assert str(answered.id) == turn["done"]["message_id"]
        assert answered.tokens_used == turn["done"]["tokens_used"] > 0
    async with sessions() as session:
        goal = await session.get(Goal, goal_id)
    assert goal.status == GoalStatus.PAUSED and goal.user_id == user.id
    # The search asked for the goal's own terms (price, discount, title): every deal it saved
    # that is available is a match, and was counted once.
    async with sessions() as session:
        saved = list(await session.scalars(select(Deal).where(Deal.goal_id == goal.id)))
    assert len(saved) == found["saved_as_deals"]
    available = [d for d in saved if d.status == DealStatus.ACTIVE]
    assert all(d.current_price <= 300 and d.discount_percent >= 15 for d in available)
    assert goal.total_matches_found == len(available)

    # The ledger: one deduction per turn, adding up to what the balance lost.
    charged = [Decimal(t["done"]["charged"]) for t in turns]
    spent = await charges(sessions, user.id)
    assert [d.amount for d in spent] == charged
    final = await balance(sessions, user.id)
    assert final == user.balance - sum(charged) == Decimal(shown["done"]["token_balance"])
    async with httpx.AsyncClient(base_url=base_url + "/api/v1") as client:
        reply = await client.get(
            "/tokens/balance", headers={"Authorization": f"Bearer {user.token}"}
        )
    assert Decimal(reply.json()["token_balance"]) == final

    await send(ws, {"type": "history", "limit": 10})
    history = (await recv_until(ws, "history"))[-1]["messages"]
    assert [m["id"] for m in history] == [str(m.id) for m in stored]
    await ws.close()


async def test_a_balance_below_the_minimum_charge_runs_nothing(live_server, sessions):
    user = await make_user(sessions, grant=Decimal("0.01"))
    ws, _ = await ready_chat(live_server, user.token)
    refused = await chat(ws, "p1", "What's my balance?")
    assert [f["type"] for f in refused] == ["error"]
    assert refused[0]["code"] == "insufficient_balance" and refused[0]["id"] == "p1"
    assert await messages(sessions, user.id) == []
    assert await balance(sessions, user.id) == Decimal("0.01")
    await send(ws, {"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    await ws.close()


@pytest.fixture(scope="module")
def provider(settings) -> Iterator[tuple[Any, str]]:
    """The app talking to a local OpenAI-compatible server that plays a script."""
    with fake_openai() as fake:
        online = settings.model_copy(
            update={
                "openai_api_key": "sk-local",
                "openai_base_url": fake.base_url,
                "llm_max_retries": 1,
            }
        )
        with serve_in_thread(create_app(online)) as base_url:
            yield fake, base_url


async def test_provider_failure_is_llm_unavailable_and_the_socket_stays_usable(provider, sessions):
    fake, base_url = provider
    user = await make_user(sessions)
    ws, _ = await ready_chat(base_url, user.token)

    fake.play(Fail(500), Fail(429))  # the first try and its one retry
    failed = await chat(ws, "f1", "hello")
    assert failed[-1]["type"] == "error" and failed[-1]["code"] == "llm_unavailable"
    assert await balance(sessions, user.id) == user.balance  # no model charge
    again = await chat(ws, "f1", "hello")  # that id's turn did not finish
    assert again[-1]["code"] == "duplicate_id"

    fake.play(Text("Hello there"))
    answered = await chat(ws, "f2", "hello")
    assert answered[-1]["type"] == "assistant_message"
    assert answered[-1]["content"] == "Hello there"
    assert answered[-1]["tokens_used"] == 135  # the provider's reported usage
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(Goal.id).where(Goal.user_id == user.id)  # nothing else was touched
            )
        ).all()
    assert rows == []
    await ws.close()


# What no reply a person reads may hold: ids, tool or argument names, machine amounts.
UNREADABLE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-|goal_id|deal_id|0E-\d|\d\.\d{5,}|_[a-z]+\(|\b1 \w+ goals\b"
)


async def test_the_issue_conversation_reads_as_a_person_expects(own_markets):
    """The thirteen turns issue 10 tried, replayed over the WebSocket: each understood,
    acting on the right goal, and answered in words a person accepts."""
    base_url, sessions = own_markets
    user = await make_user(sessions, grant=Decimal(200))
    ws, _ = await ready_chat(base_url, user.token)
    transcript: list[str] = []

    async def turn(n: int, text: str, *tools: str) -> dict[str, Any]:
        frames = [f for f in await chat(ws, f"i{n}", text) if f["type"] != "notification"]
        done = frames[-1]
        assert done["type"] == "assistant_message", frames
        made = [f["name"] for f in frames if f["type"] == "tool_call"]
        cost = f"[{done['tokens_used']} tokens used, charged {done['charged']}]"
        transcript.append(f"> {text}\n< {done['content']}\n{cost}")
        assert made == list(tools), (text, made, done["content"])
        assert not UNREADABLE.search(done["content"]), done["content"]
        results = [f for f in frames if f["type"] == "tool_result"]
        return {
            "done": done,
            "results": results,
            "calls": [f for f in frames if f["type"] == "tool_call"],
        }

    opened = await turn(
        1,
        "find me a 27-inch 4K monitor under $300, tell me if one drops below $250",
        "create_goal",
        "search_markets",
    )
    goal_id = opened["results"][0]["result"]["goal"]["id"]
    product_url = opened["results"][1]["result"]["products"][-1]["url"]
    shown = await turn(2, "show my deals, cheapest first", "query_deals")
    cheapest = shown["results"][0]["result"]["deals"][0]
    assert "#1 " in shown["done"]["content"] and "cheapest first" in shown["done"]["content"]
    history = await turn(3, "what's the price history of the cheapest one?", "price_history")
    assert history["calls"][0]["args"] == {"deal_id": cheapest["id"]}
    assert "lowest $" in history["done"]["content"] or "only price" in history["done"]["content"]
    paused = await turn(4, "pause that goal", "update_goal")
    assert paused["calls"][0]["args"] == {"goal_id": goal_id, "action": "pause"}
    active = await turn(5, "which of my goals are active?", "list_goals")
    assert "You have no active goals" in active["done"]["content"]
    spent = await turn(6, "how much did I spend today?", "get_spending")
    assert spent["done"]["content"].startswith("Today you spent ")
    thanks = await turn(7, "thanks!")
    assert len(thanks["done"]["content"]) < 60
    tracked = await turn(8, f"track this {product_url}", "track_product_url")
    assert tracked["calls"][0]["args"]["goal_id"] == goal_id
    assert "under your goal “27-inch 4K monitor”. " in tracked["done"]["content"]
    assert "That goal is paused" in tracked["done"]["content"]
    await turn(9, "cancel the monitor goal", "list_goals", "update_goal")
    resumed = await turn(10, "Resume my monitor goal", "list_goals")
    assert "was cancelled" in resumed["done"]["content"]
    told = await turn(11, "what's my balance?", "get_balance")
    after = re.search(r"your balance is ([\d.]+) tokens\.$", told["done"]["content"])
    assert after and Decimal(after[1]) == as_told(Decimal(told["done"]["token_balance"]))
    await turn(12, "any alerts?", "list_notifications")
    await turn(13, "bye")
    await ws.close()
    print("\n\n".join(transcript))


async def test_a_real_model_sees_what_the_conversation_showed(provider, sessions):
    """The provider gets the state (goal ids, deals in the order shown) in the system prompt
    and each earlier reply with a one-line summary of its tools, never their whole JSON."""
    fake, base_url = provider
    user = await make_user(sessions)
    async with sessions() as session, session.begin():
        session.add(Goal(user_id=user.id, title="4K monitor", category="electronics"))
    ws, _ = await ready_chat(base_url, user.token)
    fake.play(ToolCalls([("list_goals", "{}")]), Text("You have one goal: 4K monitor."))
    assert (await chat(ws, "r1", "list my goals"))[-1]["type"] == "assistant_message"
    fake.play(Text("Paused."))
    await chat(ws, "r2", "pause it")
    system, *history = fake.requests[0]["messages"]
    state = json.loads(system["content"].split("Conversation state: ", 1)[1])
    async with sessions() as session:
        goal_id = await session.scalar(select(Goal.id).where(Goal.user_id == user.id))
    assert state["goal"] == {"id": str(goal_id), "title": "4K monitor", "status": "active"}
    replies = [m["content"] for m in history if m["role"] == "assistant"]
    assert replies == ["You have one goal: 4K monitor.\n[tools: list_goals: 1 goals]"]
    await ws.close()
