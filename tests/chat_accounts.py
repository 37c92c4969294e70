"""Users for the chat tests, signed up and logged in over REST; goals of theirs."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

import httpx

from core.models.enums import MarketCategory
from core.models.goals import Goal
from tests.accounts_client import login, signed_up


@dataclass
class ChatUser:
    id: uuid.UUID
    email: str
    token: str
    balance: Decimal
    base_url: str

    async def read_token(self) -> str:
        """A second login, with a read-only token."""
        async with httpx.AsyncClient(base_url=self.base_url + "/api/v1") as client:
            return (await login(client, self.email, scope="read"))["access_token"]


async def make_user(base_url: str) -> ChatUser:
    async with httpx.AsyncClient(base_url=base_url + "/api/v1") as client:
        profile, tokens = await signed_up(client)
    return ChatUser(
        uuid.UUID(profile["id"]),
        profile["email"],
        tokens["access_token"],
        Decimal(profile["token_balance"]),
        base_url,
    )


async def make_goal(sessions, user_id: uuid.UUID) -> uuid.UUID:
    async with sessions() as session, session.begin():
        goal = Goal(user_id=user_id, title="a monitor", category=MarketCategory.ELECTRONICS)
        session.add(goal)
        await session.flush()
    return goal.id
