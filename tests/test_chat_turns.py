"""Turns over the WebSocket: idempotent client ids, order across connections and server
processes, a client leaving mid-turn. Real uvicorn, `websockets`, PostgreSQL."""

import asyncio
from decimal import Decimal

from sqlalchemy import select

from core.models.chat import ChatMessage
from core.models.enums import MessageRole
from tests.agent_helpers import balance
from tests.chat_accounts import charges, make_user
from tests.chat_client import chat, ready_chat, recv, recv_until, send

SLOW = "slow search for a monitor"


async def _stored(sessions, user_id) -> list[ChatMessage]:
    async with sessions() as session:
        rows = await session.scalars(
            select(ChatMessage)
            .where(ChatMessage.user_id == user_id)
            .order_by(ChatMessage.created_at, ChatMessage.id)
        )
        return list(rows)


async def test_same_client_id_twice_runs_once_and_replays(live_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(live_server, user.token)
    first = await chat(ws, "dup-1", "hello there")
    second = await chat(ws, "dup-1", "hello there")
    ack, done = first[0], first[-1]
    assert ack["type"] == "ack" and done["type"] == "assistant_message"
    assert [f["type"] for f in second] == ["ack", "assistant_message"]
    assert second[0]["message_id"] == ack["message_id"]
    assert second[-1]["message_id"] == done["message_id"]
    assert second[-1]["content"] == done["content"] and second[-1]["replayed"] is True
    rows = await _stored(sessions, user.id)
    assert [r.role for r in rows] == [MessageRole.USER, MessageRole.ASSISTANT]
    assert [d.amount for d in await charges(sessions, user.id)] == [Decimal(done["charged"])]
    await ws.close()


async def test_two_users_with_one_client_id_each_get_their_own_turn(live_server, sessions):
    alice, bob = await make_user(sessions), await make_user(sessions)
    a, _ = await ready_chat(live_server, alice.token)
    b, _ = await ready_chat(live_server, bob.token)
    hers = (await chat(a, "shared-id", "what's my balance?"))[-1]
    his = (await chat(b, "shared-id", "help"))[-1]
    assert his["type"] == "assistant_message" and "replayed" not in his
    assert his["message_id"] != hers["message_id"] and his["content"] != hers["content"]
    again = (await chat(b, "shared-id", "help"))[-1]  # his replay is his own turn's
    assert (again["message_id"], again["replayed"]) == (his["message_id"], True)
    for user, reply in ((alice, hers), (bob, his)):
        rows = await _stored(sessions, user.id)
        assert [(r.role, r.meta_data["client_message_id"]) for r in rows] == [
            (MessageRole.USER, "shared-id"),
            (MessageRole.ASSISTANT, "shared-id"),
        ]
        assert str(rows[1].id) == reply["message_id"]
        assert len(await charges(sessions, user.id)) == 1
    await a.close()
    await b.close()


async def test_duplicate_sent_while_the_first_runs_waits_for_its_result(live_server, sessions):
    user = await make_user(sessions)
    a, _ = await ready_chat(live_server, user.token)
    b, _ = await ready_chat(live_server, user.token)
    await send(a, {"type": "user_message", "id": "dup-2", "content": SLOW})
    await recv_until(a, "ack", id="dup-2")  # the first is stored and running
    replay = await chat(b, "dup-2", SLOW)
    original = await recv_until(a, "assistant_message", id="dup-2")
    assert replay[-1]["message_id"] == original[-1]["message_id"]
    assert replay[-1]["replayed"] is True
    assert len(await _stored(sessions, user.id)) == 2
    assert len(await charges(sessions, user.id)) == 1
    await a.close()
    await b.close()


async def test_two_connections_two_processes_one_user_turns_in_order(
    live_server, strict_server, sessions
):
    user = await make_user(sessions)
    a, _ = await ready_chat(live_server, user.token)
    b, _ = await ready_chat(strict_server, user.token)  # another server process
    await send(a, {"type": "user_message", "id": "o1", "content": SLOW})
    await recv_until(a, "ack", id="o1")  # o1's turn has begun before o2 is sent
    await send(b, {"type": "user_message", "id": "o2", "content": SLOW})
    await recv_until(a, "assistant_message", id="o1", wait_s=30)
    await recv_until(b, "assistant_message", id="o2", wait_s=30)
    rows = await _stored(sessions, user.id)
    assert [(r.role, r.meta_data.get("client_message_id")) for r in rows] == [
        (MessageRole.USER, "o1"),
        (MessageRole.ASSISTANT, "o1"),
        (MessageRole.USER, "o2"),
        (MessageRole.ASSISTANT, "o2"),
    ]
    assert rows[1].created_at <= rows[2].created_at  # o2 began after o1 was stored
    await a.close()
    await b.close()


async def test_client_leaving_mid_turn_still_gets_it_stored_once(live_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(live_server, user.token)
    await send(ws, {"type": "user_message", "id": "gone-1", "content": SLOW})
    assert (await recv(ws))["type"] == "ack"
    await ws.close()
    again, _ = await ready_chat(live_server, user.token)
    for _ in range(100):
        await send(again, {"type": "history"})
        messages = (await recv(again))["messages"]
        if len(messages) == 2:
            break
        await asyncio.sleep(0.1)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["client_message_id"] == "gone-1"
    replay = await chat(again, "gone-1", SLOW)  # asking again returns the stored reply
    assert replay[-1]["message_id"] == messages[1]["id"]
    assert len(await _stored(sessions, user.id)) == 2
    (billed,) = await charges(sessions, user.id)  # billed once, for that turn
    assert billed.meta_data["turn_id"] == messages[1]["turn_id"]
    assert await balance(sessions, user.id) == user.balance - billed.amount
    await again.close()
