"""What every tool gets from the connection, never from the model: the acting user and
the handles to reach the database and the markets. Passed as create_agent's context."""

import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings


@dataclass
class ServiceUse:
    """One paid service a tool used during the turn; the turn's settlement charges it."""

    service_type: str  # a token_pricing.service_type, e.g. "market_search"
    units: int = 1
    goal_id: uuid.UUID | None = None


@dataclass
class AgentContext:
    user_id: uuid.UUID
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    settings: Settings
    goal_id: uuid.UUID | None = None  # the goal this conversation turn concerns, if any
    services_used: list[ServiceUse] = field(default_factory=list)
    new_goals: list[uuid.UUID] = field(default_factory=list)  # first checks queued after it
    balance_asked: bool = False  # the reply then gets the balance after the turn's charge
