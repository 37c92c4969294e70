"""Referral rewards are paid at the referred account's first completed chat turn, once, at
most REFERRAL_MAX_PER_DAY per referrer per UTC day; sign-ups are throttled per address."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, update

from api.main import create_app
from core.models import TokenTransaction, User
from core.models.enums import TransactionStatus
from tests.accounts_client import PASSWORD, login, new_email, register, signed_up
from tests.agent_helpers import Chat, balance
from tests.chat_client import chat, ready_chat
from tests.factories import make_user
from tests.live_server import serve_in_thread

REWARD, BONUS = Decimal("10"), Decimal("5")  # the seeded referral_reward / referral_bonus


async def referral_rows(sessions, user_id: uuid.UUID) -> list[tuple[str, str, Decimal, str]]:
    """(service, status, amount, other user) of the user's referral transactions."""
    async with sessions() as session:
        rows = await session.scalars(
            select(TokenTransaction)
            .where(
                TokenTransaction.user_id == user_id,
                TokenTransaction.meta_data["service_type"].astext.like("referral_%"),
            )
            .order_by(TokenTransaction.created_at)
        )
        return [
            (
                r.meta_data["service_type"],
                r.status,
                r.amount,
                r.meta_data["other_user"],
            )
            for r in rows
        ]


@pytest.fixture
async def client(live_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{live_server}/api/v1", timeout=60) as client:
        yield client


async def test_sign_ups_pay_nothing_until_the_first_turn_which_pays_once(
    client, live_server, sessions, settings
):
    referrer, _ = await signed_up(client)
    code = referrer["referral_code"]
    # Ten sign-ups with one code at once (the farming run): nobody is paid for signing up.
    referred = await asyncio.gather(*(register(client, referral_code=code) for _ in range(10)))
    referrer_id = uuid.UUID(referrer["id"])
    assert await balance(sessions, referrer_id) == settings.signup_grant
    assert await referral_rows(sessions, referrer_id) == []
    async with sessions() as session:
        rows = await session.execute(
            select(User.referred_by, User.token_balance).where(
                User.id.in_([uuid.UUID(r["id"]) for r in referred])
            )
        )
        assert sorted(rows.all()) == [(referrer_id, settings.signup_grant)] * 10

    first = referred[0]
    first_id = uuid.UUID(first["id"])
    tokens = await login(client, first["email"])
    ws, _ = await ready_chat(live_server, tokens["access_token"])
    done = (await chat(ws, "ref-1", "what's my balance?"))[-1]
    assert done["type"] == "assistant_message", done
    # The reply's balance already holds the bonus: paid in the turn's own transaction.
    assert Decimal(done["token_balance"]) == settings.signup_grant + BONUS - Decimal(
        done["charged"]
    )
    assert await balance(sessions, referrer_id) == settings.signup_grant + REWARD
    again = (await chat(ws, "ref-2", "what's my balance?"))[-1]
    assert again["type"] == "assistant_message", again
    await ws.close()
    assert await referral_rows(sessions, referrer_id) == [
        ("referral_reward", TransactionStatus.COMPLETED, REWARD, str(first_id))
    ]
    assert await referral_rows(sessions, first_id) == [
        ("referral_bonus", TransactionStatus.COMPLETED, BONUS, str(referrer_id))
    ]
    async with sessions() as session:
        earned = await session.scalar(
            select(User.total_rewards_earned).where(User.id == referrer_id)
        )
    assert earned == settings.signup_grant + REWARD


async def referred_users(sessions, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    async with sessions() as session, session.begin():
        referrer = await make_user(session, token_balance=Decimal("100"))
        referred = [
            await make_user(session, token_balance=Decimal("100"), referred_by=referrer.id)
            for _ in range(count)
        ]
    return referrer.id, [user.id for user in referred]


async def test_at_most_the_daily_limit_is_paid_per_referrer_and_the_rest_says_why(
    sessions, settings
):
    capped = settings.model_copy(update={"referral_max_per_day": 2, "openai_api_key": None})
    referrer, referred = await referred_users(sessions, 5)
    async with httpx.AsyncClient() as http:
        chats = [Chat(sessions, capped, http, user_id) for user_id in referred]
        # Four first turns at once: the limit holds under concurrency.
        await asyncio.gather(*(c.say("what's my balance?") for c in chats[:4]))
        await chats[0].say("what's my balance?")  # a second turn pays nothing more
        rows = await referral_rows(sessions, referrer)
        paid = [r for r in rows if r[1] == TransactionStatus.COMPLETED]
        unpaid = [r for r in rows if r[1] == TransactionStatus.CANCELLED]
        assert (len(paid), len(unpaid)) == (2, 2)
        assert {r[3] for r in rows} == {str(u) for u in referred[:4]}  # one row each
        assert {r[:3] for r in paid} == {("referral_reward", TransactionStatus.COMPLETED, REWARD)}
        assert await balance(sessions, referrer) == Decimal("100") + 2 * REWARD
        async with sessions() as session:
            reasons = await session.scalars(
                select(TokenTransaction.meta_data["not_paid"].astext).where(
                    TokenTransaction.user_id == referrer,
                    TokenTransaction.status == TransactionStatus.CANCELLED,
                )
            )
            assert list(reasons) == ["daily_limit", "daily_limit"]
        for user_id in referred[:4]:  # the referred accounts' bonus is theirs either way
            assert [r[:3] for r in await referral_rows(sessions, user_id)] == [
                ("referral_bonus", TransactionStatus.COMPLETED, BONUS)
            ]
        # A new UTC day: today's rewards were yesterday's, so the next one is paid.
        async with sessions() as session, session.begin():
            await session.execute(
                update(TokenTransaction)
                .where(TokenTransaction.user_id == referrer)
                .values(created_at=TokenTransaction.created_at - timedelta(days=1))
            )
        await chats[4].say("what's my balance?")
    last = (await referral_rows(sessions, referrer))[-1]
    assert last == ("referral_reward", TransactionStatus.COMPLETED, REWARD, str(referred[4]))
    assert await balance(sessions, referrer) == Decimal("100") + 3 * REWARD


async def test_a_turn_of_an_account_nobody_referred_pays_no_referral(sessions, settings):
    async with sessions() as session, session.begin():
        user = await make_user(session, token_balance=Decimal("100"))
    async with httpx.AsyncClient() as http:
        offline = settings.model_copy(update={"openai_api_key": None})
        await Chat(sessions, offline, http, user.id).say("what's my balance?")
    assert await referral_rows(sessions, user.id) == []


async def test_sign_ups_are_throttled_per_client_address(settings, sessions):
    limited = settings.model_copy(update={"register_max_per_client": 3})
    emails = [new_email() for _ in range(4)]
    with serve_in_thread(create_app(limited)) as base_url:
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=60) as client:
            for email in emails[:3]:
                body = {"email": email, "password": PASSWORD}
                assert (await client.post("/auth/register", json=body)).status_code == 201
            body = {"email": emails[3], "password": PASSWORD}
            refused = await client.post("/auth/register", json=body)
            assert (refused.status_code, refused.json()["code"]) == (429, "too_many_attempts")
            assert "too many sign-ups" in refused.json()["detail"]
            assert 0 < int(refused.headers["Retry-After"]) <= 3600
            await login(client, emails[0])  # logins are counted apart
    async with sessions() as session:
        stored = await session.scalars(
            select(User.email).where(User.email.in_([e.lower() for e in emails]))
        )
        assert sorted(stored) == sorted(e.lower() for e in emails[:3])
