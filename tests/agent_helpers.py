"""Driving run_turn in tests: a frame collector, a user with a balance, ledger reads."""

import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.turn import Emit, TurnOutcome, TurnRequest, run_turn
from core import ledger
from core.config import Settings
from core.models import ChatMessage, TokenTransaction, User
from core.models.enums import TransactionStatus, TransactionType
from tests.factories import make_user


@dataclass
class Chat:
    """One user's conversation through run_turn, keeping every frame it was sent."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    http: httpx.AsyncClient
    user_id: uuid.UUID
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def say(
        self, text: str, goal_id: uuid.UUID | None = None, on_frame: Emit | None = None
    ) -> TurnOutcome:
        """`on_frame`: run as each frame arrives, while the turn goes on."""
        self.frames = []

        async def emit(frame: dict[str, Any]) -> None:
            self.frames.append(frame)
            if on_frame is not None:
                await on_frame(frame)

        request = TurnRequest(
            user_id=self.user_id,
            sessions=self.sessions,
            http=self.http,
            settings=self.settings,
            client_message_id=uuid.uuid4().hex,
            content=text,
            goal_id=goal_id,
        )
        return await run_turn(request, emit)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    def tools_called(self) -> list[str]:
        return [f["name"] for f in self.of_type("tool_call")]


async def new_user(sessions: async_sessionmaker[AsyncSession], balance: str = "100") -> uuid.UUID:
    async with sessions() as session, session.begin():
        return (await make_user(session, token_balance=Decimal(balance))).id


async def balance(sessions: async_sessionmaker[AsyncSession], user_id: uuid.UUID) -> Decimal:
    async with sessions() as session:
        return await session.scalar(select(User.token_balance).where(User.id == user_id))


async def expected_charge(
    sessions: async_sessionmaker[AsyncSession], tokens: int, *services: str
) -> Decimal:
    """The README's formula, from the stored prices."""
    async with sessions() as session:
        total = ledger.cost(await ledger.current_price(session, "chat_turn"), tokens)
        for service in services:
            total += ledger.cost(await ledger.current_price(session, service))
    return total


async def deductions(
    sessions: async_sessionmaker[AsyncSession], user_id: uuid.UUID
) -> list[TokenTransaction]:
    async with sessions() as session:
        rows = await session.scalars(
            select(TokenTransaction)
            .where(
                TokenTransaction.user_id == user_id,
                TokenTransaction.type == TransactionType.DEDUCTION,  # not the sign-up grant
                TokenTransaction.status == TransactionStatus.COMPLETED,
                TokenTransaction.type == TransactionType.DEDUCTION,
            )
            .order_by(TokenTransaction.created_at)
        )
        return list(rows)


async def messages(
    sessions: async_sessionmaker[AsyncSession], user_id: uuid.UUID
) -> list[ChatMessage]:
    async with sessions() as session:
        rows = await session.scalars(
            select(ChatMessage)
            .where(ChatMessage.user_id == user_id)
            .order_by(ChatMessage.created_at)
        )
        return list(rows)


def as_told(value: Decimal) -> Decimal:
    """A token amount as replies write it: to the cent, halves up."""
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)
