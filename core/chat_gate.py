"""One chat turn at a time per user, in every server process, and what is known about the
user's message once its turn comes (so it runs once, within the rate limit, on a goal of
theirs), read on the lock's own connection in one round trip."""

import asyncio
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

# First half of the two-int advisory lock key: keeps turn locks apart from other lock users.
TURN_LOCK_NAMESPACE = 0x63686174  # "chat"

FACTS_SQL = """
SELECT
  (SELECT token_balance FROM users WHERE id = %(user)s) AS balance,
  (SELECT count(*) FROM chat_messages
    WHERE user_id = %(user)s AND role = 'user'
      AND created_at > now() - make_interval(secs => %(window)s)) AS recent,
  (%(goal)s::uuid IS NULL
    OR EXISTS (SELECT 1 FROM goals WHERE id = %(goal)s::uuid AND user_id = %(user)s)) AS goal_ok,
  (SELECT coalesce(json_agg(json_build_object(
      'id', id, 'role', role, 'content', content, 'tokens_used', tokens_used,
      'meta_data', meta_data)), '[]')
    FROM chat_messages
    WHERE user_id = %(user)s AND meta_data->>'client_message_id' = %(client)s) AS prior
"""


def turn_lock_key(user_id: uuid.UUID) -> int:
    """A signed 32-bit key for the user; a rare collision only serialises two users."""
    digest = hashlib.blake2b(user_id.bytes, digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class StoredMessage:
    id: uuid.UUID
    content: str
    tokens_used: int
    meta_data: dict[str, Any]

    @classmethod
    def of(cls, row: dict[str, Any]) -> "StoredMessage":
        return cls(uuid.UUID(row["id"]), row["content"], row["tokens_used"], row["meta_data"])


@dataclass(frozen=True)
class TurnFacts:
    """The user's state as their turn starts."""

    balance: Decimal
    recent_messages: int  # user messages stored within the rate window
    goal_ok: bool  # no goal given, or the goal is the user's
    asked: StoredMessage | None  # the message already stored under this client id
    reply: StoredMessage | None  # and its reply, when that turn finished


class HeldTurn:
    """The user's turn, while it is held."""

    def __init__(self, conn: AsyncConnection, user_id: uuid.UUID) -> None:
        self._conn = conn
        self._user_id = user_id

    async def facts(
        self, client_message_id: str, goal_id: uuid.UUID | None, window_s: float
    ) -> TurnFacts:
        params = {
            "user": self._user_id,
            "client": client_message_id,
            "goal": goal_id,
            "window": window_s,
        }
        async with self._conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(FACTS_SQL, params)
            row = await cur.fetchone()
        assert row is not None
        prior = row["prior"] if isinstance(row["prior"], list) else json.loads(row["prior"])
        by_role = {message["role"]: StoredMessage.of(message) for message in prior}
        return TurnFacts(
            balance=row["balance"],
            recent_messages=row["recent"],
            goal_ok=row["goal_ok"],
            asked=by_role.get("user"),
            reply=by_role.get("assistant"),
        )


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
            min_size=min(2, size),  # grows (one at a time) up to size under load
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
    async def hold(self, user_id: uuid.UUID) -> AsyncIterator[HeldTurn]:
        lock = self._local.setdefault(user_id, asyncio.Lock())
        self._waiting[user_id] += 1
        try:
            async with lock, self._pool.connection() as conn:
                key = (TURN_LOCK_NAMESPACE, turn_lock_key(user_id))
                await conn.execute("SELECT pg_advisory_lock(%s, %s)", key)
                yield HeldTurn(conn, user_id)  # the pool's reset unlocks on the way back
        finally:
            self._waiting[user_id] -= 1
            if not self._waiting[user_id]:
                del self._waiting[user_id], self._local[user_id]
