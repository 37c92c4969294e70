"""The chat WebSocket's transport: auth, bad input, limits, history, notifications.
Real uvicorn, real `websockets` client, real PostgreSQL."""

import asyncio
import base64
import json
import os
import socket
import uuid
from decimal import Decimal

import pytest
from psycopg import AsyncConnection
from sqlalchemy import select, text

from core import notifications
from core.chat_gate import TURN_LOCK_NAMESPACE, turn_lock_key
from core.db import libpq_url
from core.models.chat import ChatMessage
from core.models.enums import NotificationStatus, NotificationType, TokenScope
from core.models.notifications import Notification
from tests.chat_accounts import charges, make_goal, make_user
from tests.chat_client import (
    chat,
    close_code,
    frames_before,
    open_chat,
    ready_chat,
    recv,
    recv_until,
    send,
    ws_url,
)
from tests.live_server import kill_listeners

# --- authentication ---------------------------------------------------------------


async def test_bearer_header_gets_ready_with_balance(strict_server, sessions):
    user = await make_user(sessions)
    ws, ready = await ready_chat(strict_server, user.token)
    assert ready["user_id"] == str(user.id)
    assert Decimal(ready["token_balance"]) == user.balance
    await ws.close()


async def test_frames_are_not_compressed_though_the_client_offers_it(strict_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(strict_server, user.token)
    offered = ws.request.headers.get("Sec-WebSocket-Extensions", "")
    assert "permessage-deflate" in offered
    assert ws.protocol.extensions == []
    assert "Sec-WebSocket-Extensions" not in ws.response.headers
    await ws.close()


async def test_first_frame_auth(strict_server, sessions):
    user = await make_user(sessions)
    ws = await open_chat(strict_server)
    await send(ws, {"type": "auth", "token": user.token})
    assert (await recv(ws))["type"] == "ready"
    await send(ws, {"type": "auth", "token": user.token})  # again: renews, nothing else
    again = await recv(ws)
    assert again["type"] == "authenticated" and again["expires_at"]
    await ws.close()


@pytest.mark.parametrize("where", ["header", "frame"])
async def test_bad_token_closes_4401(strict_server, where):
    ws = await open_chat(strict_server, "not-a-token" if where == "header" else None)
    if where == "frame":
        await send(ws, {"type": "auth", "token": "not-a-token"})
    assert await close_code(ws) == 4401


async def test_an_oversized_token_is_a_bad_token_4401_not_a_timeout(strict_server):
    ws = await open_chat(strict_server)
    await send(ws, {"type": "auth", "token": "x" * 4097})
    assert await close_code(ws) == 4401


async def test_no_auth_in_time_closes_4408(strict_server):
    ws = await open_chat(strict_server)
    assert await close_code(ws, wait_s=5) == 4408


async def test_first_frame_not_auth_closes_4408(strict_server):
    ws = await open_chat(strict_server)
    await send(ws, {"type": "ping"})
    assert await close_code(ws) == 4408


# --- bad input ---------------------------------------------------------------------

BAD_FRAMES = [
    ("{not json", "invalid_json"),
    ("[1, 2]", "invalid_frame"),
    (json.dumps({"type": "dance"}), "unknown_type"),
    (json.dumps({"no": "type"}), "unknown_type"),
    (json.dumps({"type": "user_message", "id": "m1"}), "invalid_frame"),
    (json.dumps({"type": "user_message", "content": "hi"}), "invalid_frame"),
    (json.dumps({"type": "user_message", "id": "m1", "content": "  \n "}), "empty_content"),
    (json.dumps({"type": "user_message", "id": "m1", "content": "x" * 4001}), "content_too_long"),
    (
        json.dumps({"type": "user_message", "id": "m1", "content": "hi", "goal_id": "7"}),
        "invalid_frame",
    ),
    (json.dumps({"type": "history", "limit": 0}), "invalid_frame"),
    (json.dumps({"type": "ack"}), "invalid_frame"),
    (b"\x00\x01", "invalid_frame"),
]


async def test_each_bad_frame_gets_its_error_and_the_socket_stays_open(strict_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(strict_server, user.token)
    for raw, code in BAD_FRAMES:
        await ws.send(raw)
        error = await recv(ws)
        assert (error["type"], error["code"]) == ("error", code), (raw, error)
        assert error["message"]
    await send(ws, {"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    async with sessions() as session:
        stored = await session.scalar(select(ChatMessage.id).where(ChatMessage.user_id == user.id))
    assert stored is None
    await ws.close()


async def test_error_names_the_client_message_id(strict_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(strict_server, user.token)
    await send(ws, {"type": "user_message", "id": "mine-1", "content": ""})
    assert await recv(ws) == {
        "type": "error",
        "code": "empty_content",
        "message": "the message is empty",
        "id": "mine-1",
    }
    await ws.close()


@pytest.mark.parametrize("server", ["app_limit", "uvicorn_limit"])
async def test_frame_over_16_kib_closes_1009(server, live_server, strict_server, sessions):
    # live_server runs uvicorn's default (16 MiB) frame limit, so the app's check closes;
    # strict_server is configured like `dealagent serve`, so uvicorn closes first.
    base = live_server if server == "app_limit" else strict_server
    user = await make_user(sessions)
    ws, _ = await ready_chat(base, user.token)
    frame = json.dumps(
        {"type": "user_message", "id": "big", "content": "é" * 8200}, ensure_ascii=False
    )
    assert len(frame) < 16384 < len(frame.encode())  # bytes count, not characters
    await ws.send(frame)
    assert await close_code(ws) == 1009


async def test_frame_just_under_the_limit_is_only_too_long_content(strict_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(strict_server, user.token)
    await ws.send(json.dumps({"type": "user_message", "id": "m", "content": "x" * 16000}))
    assert (await recv(ws))["code"] == "content_too_long"
    await ws.close()


# --- rate limit and scope -------------------------------------------------------


async def test_rate_limit_counts_across_connections(strict_server, sessions):
    user = await make_user(sessions)
    a, _ = await ready_chat(strict_server, user.token)
    b, _ = await ready_chat(strict_server, user.token)
    for ws, msg_id in ((a, "r1"), (b, "r2"), (a, "r3")):
        assert (await chat(ws, msg_id, "hello"))[-1]["type"] == "assistant_message"
    refused = await chat(b, "r4", "hello")
    assert refused[-1]["code"] == "rate_limited"
    async with sessions() as session:
        count = len(
            (
                await session.scalars(select(ChatMessage.id).where(ChatMessage.user_id == user.id))
            ).all()
        )
    assert count == 6  # three turns; the refused one stored nothing
    await a.close()
    await b.close()


async def test_the_process_refuses_over_the_limit_before_any_turn_runs(
    strict_server, sessions, settings
):
    """The in-process limiter counts messages accepted, not stored: with the user's turn
    lock held elsewhere no turn can start (nothing stored for the database count to see),
    and still the fourth message is refused at once."""
    user = await make_user(sessions)
    key = (TURN_LOCK_NAMESPACE, turn_lock_key(user.id))
    async with await AsyncConnection.connect(
        libpq_url(settings.database_url), autocommit=True
    ) as lock:
        await lock.execute("SELECT pg_advisory_lock(%s, %s)", key)
        ws, _ = await ready_chat(strict_server, user.token)
        for msg_id in ("q1", "q2", "q3", "q4"):
            await send(ws, {"type": "user_message", "id": msg_id, "content": "hello"})
        refused = await recv(ws)
        assert (refused["type"], refused["code"], refused["id"]) == ("error", "rate_limited", "q4")
        async with sessions() as session:
            stored = await session.scalar(
                select(ChatMessage.id).where(ChatMessage.user_id == user.id)
            )
        assert stored is None  # every turn still waits for the lock
        await lock.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    for msg_id in ("q1", "q2", "q3"):
        frames = await recv_until(ws, "assistant_message", id=msg_id)
        assert not [f for f in frames if f["type"] == "error"], frames
    await ws.close()


async def test_rate_limit_counts_messages_stored_through_other_processes(
    strict_server, live_server, sessions
):
    user = await make_user(sessions)
    other, _ = await ready_chat(live_server, user.token)  # another process, same database
    for msg_id in ("p1", "p2", "p3"):
        assert (await chat(other, msg_id, "hello"))[-1]["type"] == "assistant_message"
    ws, _ = await ready_chat(strict_server, user.token)
    assert (await chat(ws, "p4", "hello"))[-1]["code"] == "rate_limited"
    await ws.close()
    await other.close()


async def test_a_replay_is_not_rate_limited_nor_counted(strict_server, sessions):
    user = await make_user(sessions)  # strict_server: 3 messages a minute
    ws, _ = await ready_chat(strict_server, user.token)
    first = await chat(ws, "q1", "hello")
    for _ in range(3):  # the same id again costs nothing: never refused, never counted
        again = await chat(ws, "q1", "hello")
        assert again[-1]["type"] == "assistant_message" and again[-1]["replayed"] is True
        assert again[-1]["message_id"] == first[-1]["message_id"]
    for msg_id in ("q2", "q3"):
        assert (await chat(ws, msg_id, "hello"))[-1]["type"] == "assistant_message"
    refused = await chat(ws, "q4", "hello")
    assert (refused[-1]["type"], refused[-1]["code"]) == ("error", "rate_limited")
    replayed = await chat(ws, "q2", "hello")  # at the limit, a replay still answers
    assert replayed[-1]["type"] == "assistant_message" and replayed[-1]["replayed"] is True
    async with sessions() as session:
        stored = await session.scalars(
            select(ChatMessage.meta_data["client_message_id"].astext)
            .where(ChatMessage.user_id == user.id)
            .order_by(ChatMessage.created_at)
        )
        assert list(stored) == ["q1", "q1", "q2", "q2", "q3", "q3"]
    await ws.close()


async def test_a_replay_through_another_process_at_the_limit_is_not_rate_limited(
    strict_server, live_server, sessions
):
    user = await make_user(sessions)
    other, _ = await ready_chat(live_server, user.token)  # another process, same database
    answered = [await chat(other, msg_id, "hello") for msg_id in ("s1", "s2", "s3")]
    await other.close()
    ws, _ = await ready_chat(strict_server, user.token)  # 3 stored: at strict_server's limit
    replay = await chat(ws, "s1", "hello")
    assert replay[-1]["type"] == "assistant_message" and replay[-1]["replayed"] is True
    assert replay[-1]["message_id"] == answered[0][-1]["message_id"]
    assert (await chat(ws, "s4", "hello"))[-1]["code"] == "rate_limited"
    await ws.close()


async def test_a_limited_token_chats_and_is_billed(strict_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(strict_server, await user.scoped_token(TokenScope.LIMITED))
    done = (await chat(ws, "l1", "what's my balance?"))[-1]
    assert done["type"] == "assistant_message", done
    (billed,) = await charges(sessions, user.id)
    assert billed.amount == Decimal(done["charged"]) > 0
    assert billed.meta_data["assistant_message_id"] == done["message_id"]
    await ws.close()


async def test_read_scope_reads_history_but_cannot_chat(strict_server, sessions):
    user = await make_user(sessions)
    full, _ = await ready_chat(strict_server, user.token)
    await chat(full, "f1", "hello")
    reader, _ = await ready_chat(strict_server, await user.read_token())
    assert (await chat(reader, "f2", "hello"))[-1]["code"] == "forbidden_scope"
    await send(reader, {"type": "history"})
    history = await recv(reader)
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
    await full.close()
    await reader.close()


# --- history and other users' ids ---------------------------------------------------


async def test_history_pages_backwards_and_filters_by_goal(strict_server, sessions):
    user = await make_user(sessions)
    goal_id = await make_goal(sessions, user.id)
    ws, _ = await ready_chat(strict_server, user.token)
    await chat(ws, "h1", "first")
    await chat(ws, "h2", "about the goal", goal_id=str(goal_id))
    await send(ws, {"type": "history", "limit": 2})
    newest = (await recv(ws))["messages"]
    assert [(m["role"], m["client_message_id"]) for m in newest] == [
        ("user", "h2"),
        ("assistant", "h2"),
    ]
    await send(ws, {"type": "history", "before": newest[0]["id"], "limit": 10})
    older = (await recv(ws))["messages"]
    assert [m["role"] for m in older] == ["user", "assistant"]
    assert older[0]["client_message_id"] == "h1"
    await send(ws, {"type": "history", "goal_id": str(goal_id)})
    on_goal = (await recv(ws))["messages"]
    assert {m["goal_id"] for m in on_goal} == {str(goal_id)}
    await ws.close()


async def test_other_users_goal_and_message_ids_are_refused(strict_server, sessions):
    me = await make_user(sessions)
    them = await make_user(sessions)
    their_goal = await make_goal(sessions, them.id)
    theirs, _ = await ready_chat(strict_server, them.token)
    await chat(theirs, "t1", "secret plans")
    await send(theirs, {"type": "history"})
    their_message = (await recv(theirs))["messages"][0]["id"]

    ws, _ = await ready_chat(strict_server, me.token)
    refused = await chat(ws, "m1", "pause it", goal_id=str(their_goal))
    assert refused[-1]["code"] == "goal_not_found"
    for frame, code in (
        ({"type": "history", "goal_id": str(their_goal)}, "goal_not_found"),
        ({"type": "history", "before": their_message}, "message_not_found"),
    ):
        await send(ws, frame)
        assert (await recv(ws))["code"] == code
    async with sessions() as session:
        mine = await session.scalar(select(ChatMessage.id).where(ChatMessage.user_id == me.id))
    assert mine is None
    await ws.close()
    await theirs.close()


# --- notifications ------------------------------------------------------------------


async def _notify(sessions, user_id: uuid.UUID, title: str) -> uuid.UUID:
    async with sessions() as session, session.begin():
        row = await notifications.create(
            session, user_id, type=NotificationType.DEAL, title=title, message="a deal"
        )
    return row.id


async def test_pending_notifications_on_connect_then_live_ones(strict_server, sessions):
    user = await make_user(sessions)
    waiting = await _notify(sessions, user.id, "while you were away")
    ws, _ = await ready_chat(strict_server, user.token)
    first = await recv(ws)
    assert (first["type"], first["id"], first["title"]) == (
        "notification",
        str(waiting),
        "while you were away",
    )
    live = await _notify(sessions, user.id, "just now")
    second = await recv(ws)
    assert (second["type"], second["id"]) == ("notification", str(live))
    async with sessions() as session:
        row = await session.get(Notification, live)
    assert row.status == NotificationStatus.SENT and row.sent_at is not None
    await ws.close()


async def test_a_notification_inserted_by_plain_sql_is_delivered_too(strict_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(strict_server, user.token)
    async with sessions() as session, session.begin():
        inserted = await session.scalar(
            text(
                "INSERT INTO notifications (user_id, type, title, message) "
                "VALUES (:user, 'price_alert', 'Price drop', 'now $249') RETURNING id"
            ),
            {"user": user.id},
        )
    frame = await recv(ws)
    assert (frame["id"], frame["notification_type"]) == (str(inserted), "price_alert")
    await ws.close()


async def test_live_notification_reaches_every_connection_of_the_user_only(
    strict_server, live_server, sessions
):
    user = await make_user(sessions)
    bystander = await make_user(sessions)
    here, _ = await ready_chat(strict_server, user.token)
    there, _ = await ready_chat(live_server, user.token)  # another server process
    other, _ = await ready_chat(strict_server, bystander.token)
    note = await _notify(sessions, user.id, "price drop")
    for ws in (here, there):
        assert (await recv(ws))["id"] == str(note)
    own = await _notify(sessions, bystander.id, "the bystander's own")
    assert await frames_before(other, own) == []  # nothing of the user's came first
    for ws in (here, there, other):
        await ws.close()


async def test_notifications_keep_coming_after_the_listener_lost_its_connection(
    strict_server, sessions
):
    user = await make_user(sessions)
    ws, _ = await ready_chat(strict_server, user.token)
    assert await kill_listeners(sessions) >= 1
    note = await _notify(sessions, user.id, "after the outage")  # maybe before it is back
    frame = await recv(ws, wait_s=15)
    assert (frame["type"], frame["id"]) == ("notification", str(note))
    await ws.close()


async def test_ack_marks_delivered_and_refuses_other_users_ids(strict_server, sessions):
    user = await make_user(sessions)
    them = await make_user(sessions)
    mine = await _notify(sessions, user.id, "mine")
    theirs = await _notify(sessions, them.id, "theirs")
    ws, _ = await ready_chat(strict_server, user.token)
    assert (await recv(ws))["id"] == str(mine)
    await send(ws, {"type": "ack", "notification_id": str(theirs)})
    assert (await recv(ws))["code"] == "notification_not_found"
    await send(ws, {"type": "ack", "notification_id": str(mine)})
    await send(ws, {"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    async with sessions() as session:
        statuses = {
            row.id: row.status
            for row in await session.scalars(
                select(Notification).where(Notification.id.in_([mine, theirs]))
            )
        }
    assert statuses == {mine: NotificationStatus.DELIVERED, theirs: NotificationStatus.PENDING}
    await ws.close()
    again, _ = await ready_chat(strict_server, user.token)  # delivered: not sent again
    later = await _notify(sessions, user.id, "after the ack")
    assert await frames_before(again, later) == []
    await again.close()


# --- keepalive ----------------------------------------------------------------------


async def test_unresponsive_client_is_dropped(strict_server, sessions):
    """A client that never answers pings: the server closes the TCP connection."""
    user = await make_user(sessions)
    host, port = strict_server.removeprefix("http://").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    path = ws_url(strict_server).split(port, 1)[1]
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {user.token}\r\n\r\n"
    )

    def silent_client() -> bytes:
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(request.encode())
            received = b""
            while chunk := raw.recv(4096):  # never answers; returns at the server's close
                received += chunk
            return received

    received = await asyncio.wait_for(asyncio.to_thread(silent_client), 8)
    assert received.startswith(b"HTTP/1.1 101")
    assert b"\x89" in received  # the server pinged before giving up


async def test_responsive_idle_client_stays_connected(strict_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(strict_server, user.token)
    await asyncio.sleep(2)  # several ping intervals; the client library answers them
    await send(ws, {"type": "ping"})
    assert (await recv_until(ws, "pong"))[-1] == {"type": "pong"}
    await ws.close()
