"""Users for the chat tests. `make_user` books the user, their sign-up tokens and an access
token straight through core (no password hashing, so many tests stay fast); the
conversation tests sign up and log in over REST instead (`registered_user`)."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

import httpx

from core import ledger
from core.auth import issue_token
from core.models.accounts import User
from core.models.enums import MarketCategory, TokenScope, TokenType, TransactionType
from core.models.goals import Goal
from core.models.tokens import TokenTransaction
from tests.accounts_client import signed_up
from tests.agent_helpers import deductions

GRANT = Decimal("100")


@dataclass
class ChatUser:
    id: uuid.UUID
    email: str
    token: str
    balance: Decimal
    sessions: object = None

    async def read_token(self) -> str:
        return await self.scoped_token(TokenScope.READ)

    async def scoped_token(self, scope: TokenScope, ttl_s: int = 600) -> str:
        """Another access token of this user's, of that scope."""
        async with self.sessions() as session, session.begin():
            return await issue_token(session, self.id, TokenType.ACCESS, scope, ttl_s)


async def make_user(sessions, grant: Decimal = GRANT) -> ChatUser:
    email = f"chat-{uuid.uuid4().hex[:12]}@example.com"
    async with sessions() as session, session.begin():
        user = User(email=email, password="!no-login")
        session.add(user)
        await session.flush()
        await ledger.reward(session, user.id, grant, description="test grant")
        token = await issue_token(session, user.id, TokenType.ACCESS, TokenScope.FULL, 600)
    return ChatUser(user.id, email, token, grant, sessions)


async def registered_user(base_url: str) -> ChatUser:
    """Signed up and logged in over REST, like a real client."""
    async with httpx.AsyncClient(base_url=base_url + "/api/v1") as client:
        profile, tokens = await signed_up(client)
    balance = Decimal(profile["token_balance"])
    return ChatUser(uuid.UUID(profile["id"]), profile["email"], tokens["access_token"], balance)


async def charges(sessions, user_id: uuid.UUID) -> list[TokenTransaction]:
    """The user's completed deductions (grants and other rewards left out), oldest first."""
    return [
        entry
        for entry in await deductions(sessions, user_id)
        if entry.type == TransactionType.DEDUCTION
    ]


async def make_goal(sessions, user_id: uuid.UUID) -> uuid.UUID:
    async with sessions() as session, session.begin():
        goal = Goal(user_id=user_id, title="a monitor", category=MarketCategory.ELECTRONICS)
        session.add(goal)
        await session.flush()
    return goal.id
