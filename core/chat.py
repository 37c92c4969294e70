"""Rules every chat connection obeys, in any server process: the per-user rate limit,
history reads scoped to the user, and the runtime that owns turns (serialised by
core.chat_gate) so they outlive the socket that asked."""

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from core.chat_gate import TurnGate
from core.config import Settings
from core.models.chat import ChatMessage
from core.models.goals import Goal
from core.notifications import NotificationListener

log = logging.getLogger(__name__)


async def owns_goal(session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Goal.id).where(Goal.id == goal_id, Goal.user_id == user_id))
    return found is not None


async def sent_before(session: AsyncSession, user_id: uuid.UUID, client_message_id: str) -> bool:
    """Whether the user already sent a message with this client id (its turn replays it)."""
    query = select(ChatMessage.id).where(
        ChatMessage.user_id == user_id,
        ChatMessage.meta_data["client_message_id"].astext == client_message_id,
    )
    return await session.scalar(query.limit(1)) is not None


class MessageNotFound(LookupError):
    """A history cursor that is not one of the user's messages."""


async def history(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    limit: int,
    before: uuid.UUID | None = None,
    goal_id: uuid.UUID | None = None,
) -> list[ChatMessage]:
    """The user's messages, oldest first, the newest `limit` of them before the cursor."""
    query = select(ChatMessage).where(ChatMessage.user_id == user_id)
    if goal_id is not None:
        query = query.where(ChatMessage.goal_id == goal_id)
    if before is not None:
        cursor = await session.get(ChatMessage, before)
        if cursor is None or cursor.user_id != user_id:
            raise MessageNotFound(before)
        query = query.where(
            tuple_(ChatMessage.created_at, ChatMessage.id) < (cursor.created_at, cursor.id)
        )
    newest = query.order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc()).limit(limit)
    return list(reversed((await session.scalars(newest)).all()))


class RateLimiter:
    """A sliding window of user messages per user, counting, without a database round trip,
    every message this process accepts over all the user's connections. (Traffic through
    other server processes counts when the turn starts: TurnFacts.recent_messages.)"""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._accepted: dict[uuid.UUID, deque[float]] = {}

    def admit(self, user_id: uuid.UUID) -> bool:
        now = time.monotonic()
        accepted = self._accepted.setdefault(user_id, deque())
        while accepted and accepted[0] <= now - self.window_s:
            accepted.popleft()
        if len(accepted) >= self.limit:
            return False
        accepted.append(now)
        return True

    def release(self, user_id: uuid.UUID) -> None:
        """Uncount one admitted message that turned out to be a replay: those cost nothing."""
        if accepted := self._accepted.get(user_id):
            accepted.pop()


class ChatRuntime:
    """A process's shared chat machinery. Turns run as tasks owned here, not by the socket
    that asked for them, so a client that goes away mid-turn still gets it stored and
    billed once; shutdown lets running turns finish (within a grace period)."""

    def __init__(self, settings: Settings, conninfo: str) -> None:
        self.gate = TurnGate(conninfo, settings.chat_lock_connections, settings.chat_turn_wait_s)
        self.limiter = RateLimiter(settings.chat_rate_limit, settings.chat_rate_window_s)
        self.listener = NotificationListener(conninfo)
        self._turns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.gate.open()
        self.listener.start()

    def spawn(self, turn: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(turn)
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)
        return task

    async def close(self, grace_s: float = 30) -> None:
        if self._turns:
            _, unfinished = await asyncio.wait(self._turns, timeout=grace_s)
            for task in unfinished:
                log.warning("cancelling a chat turn still running at shutdown")
                task.cancel()
        await self.listener.stop()
        await self.gate.close()
