"""Core statements compiled once and run by psycopg itself, for the few statements of a chat
turn's hot path (its start, get_balance, its settlement): SQLAlchemy's execution around a
statement (the compiled-cache lookup, parameter processing, result rows) costs more CPU
than such a statement's round trip. They are built with SQLAlchemy like every other
statement; only running them is psycopg's, on a connection of the engine's pool."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import namedtuple_row
from psycopg.types.json import Jsonb
from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import Compiled
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

DIALECT = psycopg_dialect.dialect()


@dataclass(frozen=True)
class Precompiled:
    compiled: Compiled
    sql: str
    json_params: frozenset[str]  # dicts and lists psycopg must be told are JSON

    @classmethod
    def of(cls, statement: Executable) -> "Precompiled":
        compiled = statement.compile(dialect=DIALECT)
        json = {name for name, bind in compiled.binds.items() if isinstance(bind.type, JSON)}
        return cls(compiled, str(compiled), frozenset(json))

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        """Every parameter, the statement's own literals included, as psycopg sends them."""
        params = self.compiled.construct_params(values)
        for name in self.json_params & params.keys():
            params[name] = Jsonb(params[name])
        return params

    async def rows(self, conn: AsyncConnection, values: dict[str, Any]) -> list[Any]:
        """The statement's rows as named tuples (its columns' labels)."""
        async with conn.cursor(row_factory=namedtuple_row) as cursor:
            await cursor.execute(self.sql, self.params(values))
            return await cursor.fetchall()


@asynccontextmanager
async def pooled(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncConnection]:
    """A psycopg connection of the engine's pool (its checkout checks it), in autocommit:
    for one statement, which is atomic on its own. Taken from the pool itself, not through
    an engine connection, whose set-up and reset cost more than the statement."""
    engine: AsyncEngine = sessions.kw["bind"]
    proxied = await engine.raw_connection()
    try:
        conn: AsyncConnection = proxied.driver_connection
        await conn.set_autocommit(True)
        try:
            yield conn
        finally:
            if not conn.broken:  # as the pool hands it out; a broken one is dropped by it
                await conn.set_autocommit(False)
    finally:
        await greenlet_spawn(proxied.close)  # back to the pool, reset (the pool's own way)
