"""Rules every chat connection obeys, in any server process: one turn at a time per user,
in arrival order; a client message id runs once; a per-user message rate limit; history
reads scoped to the user."""

import asyncio
import hashlib
import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.models.accounts import User
from core.models.chat import ChatMessage
from core.models.enums import MessageRole
from core.models.goals import Goal
from core.notifications import NotificationListener

log = logging.getLogger(__name__)

# First half of the two-int advisory lock key: keeps turn locks apart from other lock users.
TURN_LOCK_NAMESPACE = 0x63686174  # "chat"


def turn_lock_key(user_id: uuid.UUID) -> int:
    """A signed 32-bit key for the user; a rare collision only serialises two users."""
    digest = hashlib.blake2b(user_id.bytes, digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _unlock_all(conn: AsyncConnection) -> None:
    await conn.execute("SELECT pg_advisory_unlock_all()")


class TurnGate:
    """Serialises a user's turns. Inside a process an asyncio.Lock queues them in arrival
    order without tying up connections; across processes a session-level advisory lock,
    held on a connection of a small dedicated pool, does the same. The pool unlocks
    everything when a connection comes back (one round trip, and a failed or cancelled
    turn never leaks a lock)."""

    def __init__(self, conninfo: str, size: int, wait_s: float) -> None:
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            kwargs={
                "autocommit": True,
                "options": f"-c statement_timeout={int(wait_s * 1000)}",
            },
            reset=_unlock_all,
            open=False,
        )
        self._local: dict[uuid.UUID, asyncio.Lock] = {}
        self._waiting: dict[uuid.UUID, int] = defaultdict(int)

    async def open(self) -> None:
        await self._pool.open(wait=True)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def hold(self, user_id: uuid.UUID) -> AsyncIterator[None]:
        lock = self._local.setdefault(user_id, asyncio.Lock())
        self._waiting[user_id] += 1
        try:
            async with lock, self._pool.connection() as conn:
                key = (TURN_LOCK_NAMESPACE, turn_lock_key(user_id))
                await conn.execute("SELECT pg_advisory_lock(%s, %s)", key)
                yield  # the pool's reset unlocks as the connection goes back
        finally:
            self._waiting[user_id] -= 1
            if not self._waiting[user_id]:
                del self._waiting[user_id], self._local[user_id]


@dataclass(frozen=True)
class PriorTurn:
    """What is stored for a client message id: the user message, and the reply if any."""

    user_message: ChatMessage
    reply: ChatMessage | None


async def find_turn(
    session: AsyncSession, user_id: uuid.UUID, client_message_id: str
) -> PriorTurn | None:
    """The turn stored for this client message id, if it already ran (both of its messages
    carry the id in meta_data)."""
    rows = await session.scalars(
        select(ChatMessage).where(
            ChatMessage.user_id == user_id,
            ChatMessage.meta_data["client_message_id"].astext == client_message_id,
        )
    )
    by_role = {row.role: row for row in rows}
    if MessageRole.USER not in by_role:
        return None
    return PriorTurn(by_role[MessageRole.USER], by_role.get(MessageRole.ASSISTANT))


async def owns_goal(session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Goal.id).where(Goal.id == goal_id, Goal.user_id == user_id))
    return found is not None


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
    """A sliding window of user messages per user. `admit` counts, without a database
    round trip, every message this process accepts, over all the user's connections;
    `stored_within` counts the user's stored messages in the window when the turn starts,
    so traffic through other server processes counts too."""

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

    async def stored_within(self, session: AsyncSession, user_id: uuid.UUID) -> bool:
        stored = await session.scalar(
            select(func.count()).where(
                ChatMessage.user_id == user_id,
                ChatMessage.role == MessageRole.USER,
                ChatMessage.created_at > func.now() - timedelta(seconds=self.window_s),
            )
        )
        return (stored or 0) < self.limit


async def token_balance(session: AsyncSession, user_id: uuid.UUID) -> Decimal:
    return await session.scalar(select(User.token_balance).where(User.id == user_id))


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
