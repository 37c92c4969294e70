"""One chat turn at a time per user, in every server process, and what is known about the
user's message once its turn comes (so it runs once, within the rate limit, on a goal of
theirs), read on the lock's own connection: in the lock's own round trip when uncontested."""

import asyncio
import hashlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import AsyncClientCursor, AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import func

from core import billing, ledger
from core.billing import Quote
from core.models import TokenPricing
from core.precompiled import DIALECT

log = logging.getLogger(__name__)

# First half of the two-int advisory lock key: keeps turn locks apart from other lock users.
TURN_LOCK_NAMESPACE = 0x63686174  # "chat"
# Connections holding the uncontested turn locks of a process. Each turn's facts query runs
# on its line too, so two keep one slow query from queueing every turn behind it.
LOCK_LINES = 2
LINE_APPLICATION = "dealagent turn locks"
CONTESTED_APPLICATION = "dealagent contested turn locks"

PRICE_COLUMNS = [column.name for column in TokenPricing.__table__.c]
# The chat_turn price valid now: ledger's own query, as SQL text for the facts below.
CHAT_PRICE_SQL = str(
    ledger.price_query(billing.CHAT_TURN, func.now()).compile(
        dialect=DIALECT, compile_kwargs={"literal_binds": True}
    )
).replace("%", "%%")
FACTS_SQL = f"""
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
    WHERE user_id = %(user)s AND meta_data->>'client_message_id' = %(client)s) AS prior,
  price.*
FROM (SELECT) AS one LEFT JOIN LATERAL ({CHAT_PRICE_SQL}) AS price ON true
"""
# The lock, then the facts, sent as one simple query (client-side parameters): one round
# trip, and as each statement of it takes its own snapshot (READ COMMITTED), the facts are
# read after the lock is held, seeing every turn of the user that released it.
LOCK_THEN_FACTS = "SELECT pg_try_advisory_lock(%(space)s, %(key)s) AS locked; " + FACTS_SQL


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
    quote: Quote  # the chat_turn price and the balance, for the turn's start


@dataclass(frozen=True)
class FactsWanted:
    """What the turn's facts are read for: its message id, goal, and rate window."""

    client_message_id: str
    goal_id: uuid.UUID | None
    window_s: float

    def params(self, user_id: uuid.UUID) -> dict[str, Any]:
        return {
            "user": user_id,
            "client": self.client_message_id,
            "goal": self.goal_id,
            "window": self.window_s,
        }


class HeldTurn:
    """The user's turn, while it is held."""

    def __init__(
        self,
        conn: AsyncConnection,
        user_id: uuid.UUID,
        known: tuple[FactsWanted, dict[str, Any]] | None = None,
    ) -> None:
        self._conn = conn
        self._user_id = user_id
        self._known = known  # facts read with the lock

    async def facts(
        self, client_message_id: str, goal_id: uuid.UUID | None, window_s: float
    ) -> TurnFacts:
        wanted = FactsWanted(client_message_id, goal_id, window_s)
        if self._known is not None and self._known[0] == wanted:
            row = self._known[1]
        else:
            async with self._conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(FACTS_SQL, wanted.params(self._user_id))
                row = await cur.fetchone()
        assert row is not None
        prior = row["prior"] if isinstance(row["prior"], list) else json.loads(row["prior"])
        by_role = {message["role"]: StoredMessage.of(message) for message in prior}
        price = TokenPricing(**{c: row[c] for c in PRICE_COLUMNS}) if row["id"] else None
        return TurnFacts(
            balance=row["balance"],
            recent_messages=row["recent"],
            goal_ok=row["goal_ok"],
            asked=by_role.get("user"),
            reply=by_role.get("assistant"),
            quote=Quote(price, row["balance"]),
        )


async def _unlock_all(conn: AsyncConnection) -> None:
    await conn.execute("SELECT pg_advisory_unlock_all()")


class LockLine:
    """A long-lived autocommit connection holding the turn locks of many users at once (a
    session-level advisory lock is only a row in pg_locks): a turn waiting on a model or a
    shop holds a lock here, not a connection of its own. Reconnects when lost; the locks
    held on a lost connection went with it."""

    def __init__(self, conninfo: str, options: str) -> None:
        self._conninfo = conninfo
        self._options = options
        self._conn: AsyncConnection | None = None
        self._connecting = asyncio.Lock()

    async def connection(self) -> AsyncConnection:
        async with self._connecting:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = await AsyncConnection.connect(
                    self._conninfo,
                    autocommit=True,
                    options=self._options,
                    application_name=LINE_APPLICATION,
                )
            return self._conn

    async def try_lock(
        self, key: tuple[int, int], facts: dict[str, Any] | None = None
    ) -> tuple[AsyncConnection | None, dict[str, Any] | None]:
        """The connection now holding the lock (None while another session holds it) and,
        when `facts` (FACTS_SQL's parameters) are given and the lock was taken, their row."""
        conn = await self.connection()
        try:
            return await self._try_lock(conn, key, facts)
        except psycopg.OperationalError:
            if not conn.broken:
                raise
            conn = await self.connection()  # lost since its last use (a restarted server)
            return await self._try_lock(conn, key, facts)

    @staticmethod
    async def _try_lock(
        conn: AsyncConnection, key: tuple[int, int], facts: dict[str, Any] | None
    ) -> tuple[AsyncConnection | None, dict[str, Any] | None]:
        if facts is None:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            row = await cur.fetchone()
            return (conn if row and row[0] else None), None
        async with AsyncClientCursor(conn, row_factory=dict_row) as cur:
            try:
                await cur.execute(LOCK_THEN_FACTS, {"space": key[0], "key": key[1], **facts})
            except psycopg.Error:
                # The lock may be held though the facts failed: a session lock outlives
                # the statement's transaction. Unlocking one not held only warns.
                if not conn.broken:
                    await conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)
                raise
            locked = await cur.fetchone()
            cur.nextset()
            row = await cur.fetchone()
        return (conn, row) if locked and locked["locked"] else (None, None)

    async def unlock(self, conn: AsyncConnection, key: tuple[int, int]) -> None:
        if conn.closed or conn.broken:
            return  # its locks were released with it
        try:
            cur = await conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            row = await cur.fetchone()
            if not (row and row[0]):
                log.warning("turn lock %s was not held at its release", key)
        except psycopg.Error as error:
            # A lock left held would shut the user out everywhere: drop the connection,
            # and every lock on it, instead.
            log.warning("releasing turn lock %s failed (%s); reconnecting", key, error)
            await conn.close()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


class TurnGate:
    """Serialises a user's turns. Inside a process an asyncio.Lock queues them in arrival
    order without tying up connections; across processes a session-level advisory lock does
    the same. Uncontested locks (the usual case) are taken with pg_try_advisory_lock on one
    of LOCK_LINES connections shared by all the process's turns, so no number of slow turns
    can use up connections another user's turn needs. A lock held by another process is
    waited for in the queue PostgreSQL keeps (pg_advisory_lock, fair), on a connection of a
    small pool that only such contested turns use; the pool unlocks everything when a
    connection comes back (a failed or cancelled turn never leaks a lock)."""

    def __init__(self, conninfo: str, size: int, wait_s: float) -> None:
        options = f"-c statement_timeout={int(wait_s * 1000)}"
        self._lines = [LockLine(conninfo, options) for _ in range(LOCK_LINES)]
        self._contested = AsyncConnectionPool(
            conninfo,
            min_size=0,
            max_size=size,
            kwargs={
                "autocommit": True,
                "options": options,
                "application_name": CONTESTED_APPLICATION,
            },
            reset=_unlock_all,
            check=AsyncConnectionPool.check_connection,  # idle ones may predate a restart
            open=False,
        )
        self._local: dict[uuid.UUID, asyncio.Lock] = {}
        self._waiting: dict[uuid.UUID, int] = defaultdict(int)
        self._releasing: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        await self._contested.open(wait=True)
        for line in self._lines:
            await line.connection()

    async def close(self) -> None:
        if self._releasing:
            await asyncio.wait(self._releasing)
        for line in self._lines:
            await line.close()
        await self._contested.close()

    @asynccontextmanager
    async def hold(
        self, user_id: uuid.UUID, wanted: FactsWanted | None = None
    ) -> AsyncIterator[HeldTurn]:
        """`wanted`: the facts the turn will ask for, read with an uncontested lock."""
        lock = self._local.setdefault(user_id, asyncio.Lock())
        self._waiting[user_id] += 1
        try:
            async with lock:
                key = (TURN_LOCK_NAMESPACE, turn_lock_key(user_id))
                line = self._lines[key[1] % LOCK_LINES]
                params = wanted.params(user_id) if wanted else None
                conn, row = await line.try_lock(key, params)
                if conn is None:
                    async with self._contested.connection() as waited:
                        await waited.execute("SELECT pg_advisory_lock(%s, %s)", key)
                        yield HeldTurn(waited, user_id)  # the pool's reset unlocks it
                    return
                known = (wanted, row) if wanted and row else None
                try:
                    yield HeldTurn(conn, user_id, known)
                finally:
                    await self._release(line, conn, key)
        finally:
            self._waiting[user_id] -= 1
            if not self._waiting[user_id]:
                del self._waiting[user_id], self._local[user_id]

    async def _release(self, line: LockLine, conn: AsyncConnection, key: tuple[int, int]) -> None:
        # Shielded: a turn cancelled now (shutdown, a dropped task) must still unlock.
        task = asyncio.ensure_future(line.unlock(conn, key))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)
        await asyncio.shield(task)
