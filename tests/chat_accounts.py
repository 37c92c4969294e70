"""Users, tokens and goals for the chat tests."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from core.models.accounts import User
from core.models.enums import MarketCategory
from core.models.goals import Goal


@dataclass
class ChatUser:
    id: uuid.UUID
    token: str
    balance: Decimal
    base_url: str

    async def read_token(self) -> str:
        return f"{self.id}:read"


async def make_user(base_url: str, sessions) -> ChatUser:
    async with sessions() as session, session.begin():
        user = User(
            email=f"{uuid.uuid4().hex}@example.com", password="x", token_balance=Decimal("100")
        )
        session.add(user)
        await session.flush()
        await session.refresh(user)
    return ChatUser(user.id, f"{user.id}:full", user.token_balance, base_url)


async def make_goal(sessions, user_id: uuid.UUID) -> uuid.UUID:
    async with sessions() as session, session.begin():
        goal = Goal(user_id=user_id, title="a monitor", category=MarketCategory.ELECTRONICS)
        session.add(goal)
        await session.flush()
    return goal.id
