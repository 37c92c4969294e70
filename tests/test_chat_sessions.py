"""An open chat socket ends with its session: logout, a revoked login, a password reset, a
suspension (on every server process, through PostgreSQL NOTIFY) and its token's expiry,
unless the client sent a fresh token first. Real uvicorn (two apps on one database),
real `websockets` clients, real PostgreSQL."""

import uuid
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select, update
from websockets.asyncio.client import ClientConnection

from core.auth import issue_token
from core.models import ChatMessage, User
from core.models.enums import TokenScope, TokenType, UserStatus
from tests.accounts_client import bearer, login, signed_up
from tests.chat_accounts import make_user
from tests.chat_client import chat, ready_chat, recv, send, until_closed
from tests.live_server import kill_listeners

# "Within a second" of the revocation; generous here, for a loaded test machine.
ENDS_WITHIN_S = 5


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=f"{live_server}/api/v1", timeout=30) as client:
        yield client


async def assert_ended(ws: ClientConnection, reason: str) -> dict:
    """The socket got an error frame saying why its session ended, then a 4401 close."""
    frames, code = await until_closed(ws, ENDS_WITHIN_S)
    assert code == 4401, frames
    last = frames[-1]
    assert (last["type"], last["code"], last["reason"]) == ("error", "session_ended", reason)
    assert len(last["message"]) > 20  # a sentence a person reads
    return last


async def assert_open(ws: ClientConnection, msg_id: str) -> None:
    """Still chatting: a whole turn answered."""
    done = (await chat(ws, msg_id, "what's my balance?"))[-1]
    assert done["type"] == "assistant_message", done


async def stored_ids(sessions, user_id: uuid.UUID) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(ChatMessage.meta_data["client_message_id"].astext)
            .where(ChatMessage.user_id == user_id)
            .order_by(ChatMessage.created_at)
        )
        return list(rows)


async def test_logout_ends_that_logins_sockets_on_every_process(
    client, live_server, strict_server, sessions
):
    user, this = await signed_up(client)
    other = await login(client, user["email"])  # a second login of the same user
    here, _ = await ready_chat(live_server, this["access_token"])
    there, _ = await ready_chat(strict_server, this["access_token"])  # another process
    elsewhere, _ = await ready_chat(strict_server, other["access_token"])
    await assert_open(here, "before")
    assert (await client.post("/auth/logout", headers=bearer(this))).status_code == 204
    for ws in (here, there):
        ended = await assert_ended(ws, "token_revoked")
        assert "log in again" in ended["message"]
    await assert_open(elsewhere, "other-login")
    assert await stored_ids(sessions, uuid.UUID(user["id"])) == [
        "before",
        "before",
        "other-login",
        "other-login",
    ]
    await elsewhere.close()


async def test_a_refresh_keeps_the_socket_and_a_reused_refresh_token_ends_it(client, strict_server):
    _, tokens = await signed_up(client)
    ws, _ = await ready_chat(strict_server, tokens["access_token"])
    old_refresh = {"refresh_token": tokens["refresh_token"]}
    assert (await client.post("/auth/refresh", json=old_refresh)).status_code == 200
    await assert_open(ws, "after-refresh")  # the access token it holds is still good
    reused = await client.post("/auth/refresh", json=old_refresh)  # the whole login revoked
    assert (reused.status_code, reused.json()["code"]) == (401, "token_reused")
    await assert_ended(ws, "token_revoked")


async def test_a_password_reset_ends_every_socket_of_the_user(
    client, live_server, strict_server, sessions
):
    user, first = await signed_up(client)
    second = await login(client, user["email"], scope="limited")
    bystander = await make_user(sessions)
    sockets = [
        (await ready_chat(live_server, first["access_token"]))[0],
        (await ready_chat(strict_server, second["access_token"]))[0],
    ]
    theirs, _ = await ready_chat(live_server, bystander.token)
    async with sessions() as session, session.begin():
        reset = await issue_token(
            session, uuid.UUID(user["id"]), TokenType.RESET, TokenScope.FULL, 600
        )
    body = {"token": reset, "new_password": "a brand new secret 9"}
    assert (await client.post("/auth/password-reset/confirm", json=body)).status_code == 200
    for ws in sockets:
        await assert_ended(ws, "token_revoked")
    await assert_open(theirs, "bystander")
    await theirs.close()


@pytest.mark.parametrize("status", [UserStatus.SUSPENDED, UserStatus.DELETED])
async def test_a_suspended_user_loses_every_socket(live_server, strict_server, sessions, status):
    user = await make_user(sessions)
    bystander = await make_user(sessions)
    sockets = [(await ready_chat(base, user.token))[0] for base in (live_server, strict_server)]
    theirs, _ = await ready_chat(strict_server, bystander.token)
    async with sessions() as session, session.begin():  # an operator's plain UPDATE
        await session.execute(update(User).where(User.id == user.id).values(status=status))
    for ws in sockets:
        ended = await assert_ended(ws, "account_disabled")
        assert status in ended["message"]
    await assert_open(theirs, "bystander")
    await theirs.close()


async def test_a_suspension_while_the_listener_reconnects_still_ends_the_socket(
    strict_server, sessions
):
    user = await make_user(sessions)
    ws, _ = await ready_chat(strict_server, user.token)
    assert await kill_listeners(sessions) >= 1
    async with sessions() as session, session.begin():  # most likely before it is back
        await session.execute(
            update(User).where(User.id == user.id).values(status=UserStatus.SUSPENDED)
        )
    frames, code = await until_closed(ws, 15)  # the listener waits a second to reconnect
    assert (code, frames[-1]["reason"]) == (4401, "account_disabled")


async def test_a_socket_closes_when_its_token_expires_unless_it_sent_a_fresh_one(
    strict_server, sessions
):
    user = await make_user(sessions)
    short = await user.scoped_token(TokenScope.FULL, ttl_s=3)
    stale, ready = await ready_chat(strict_server, short)
    expires_at = datetime.fromisoformat(ready["expires_at"])
    kept, _ = await ready_chat(strict_server, short)
    await send(kept, {"type": "auth", "token": user.token})  # a fresh token (600 s)
    renewed = await recv(kept)
    assert renewed["type"] == "authenticated"
    assert (datetime.fromisoformat(renewed["expires_at"]) - expires_at).total_seconds() > 500
    ended = await assert_ended(stale, "token_expired")
    assert datetime.now(expires_at.tzinfo) >= expires_at  # at expiry, not before
    assert "expired" in ended["message"]
    await assert_open(kept, "renewed")  # past the first token's expiry
    await kept.close()


@pytest.mark.parametrize("which", ["another user's", "made up", "oversized"])
async def test_an_auth_frame_with_a_token_not_this_users_ends_the_socket(
    strict_server, sessions, which
):
    user = await make_user(sessions)
    token = {
        "another user's": (await make_user(sessions)).token,
        "made up": "not-a-token",
        "oversized": "x" * 5000,
    }[which]
    ws, _ = await ready_chat(strict_server, user.token)
    await send(ws, {"type": "auth", "token": token})
    await assert_ended(ws, "invalid_token" if which != "another user's" else "another_user")
