"""A scratch database for one bench run, and users made in bulk (no REST sign-up: argon2
would cost more than the runs it sets up)."""

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from core import auth, migrate
from core.config import Settings
from core.database import run_with_engine, seed
from core.db import libpq_url
from core.embedded_db import drop_database, ensure_database, start_embedded

AUTH_SECRET = secrets.token_urlsafe(48)  # shared with the dealagent servers of this run
USERS = """
INSERT INTO users (email, password, token_balance)
SELECT %(tag)s || '-' || i || '@bench.example', 'x', %(balance)s
FROM generate_series(1, %(count)s) i
RETURNING id
"""
TOKEN = """
INSERT INTO auth_tokens (user_id, token, token_type, scope, expires_at)
VALUES (%s, %s, 'access', 'full', %s)
"""


@dataclass(frozen=True)
class Scratch:
    server_url: str  # the PostgreSQL server (its maintenance database)
    url: str  # the scratch database on it
    home: Path  # DEALAGENT_HOME of the servers started against it
    embedded: bool

    @property
    def libpq(self) -> str:
        return libpq_url(self.url)


@dataclass(frozen=True)
class BenchUser:
    id: str
    token: str  # a dealagent access token (the reference servers take the id)


@contextmanager
def scratch_database() -> Iterator[Scratch]:
    """Migrated and seeded, on DATABASE_URL's server or a throwaway embedded one."""
    with tempfile.TemporaryDirectory(prefix="dealagent-bench-") as tmp:
        home = Path(tmp)
        server = None
        server_url = os.environ.get("DATABASE_URL")
        if not server_url:
            server = start_embedded(home / "pgdata", throwaway=True)
            server_url = server.get_uri()
        name = f"dealagent_bench_{uuid.uuid4().hex[:8]}"
        url = ensure_database(server_url, name)
        try:
            migrate.upgrade(url)
            run_with_engine(Settings(database_url=url, _env_file=None), url, seed)
            yield Scratch(server_url, url, home, server is not None)
        finally:
            drop_database(server_url, name)
            if server:
                server.cleanup()


def make_users(scratch: Scratch, count: int, balance: int = 1_000_000) -> list[BenchUser]:
    """`count` users with a large balance and a day-long access token each."""
    auth.configure(Settings(auth_secret=AUTH_SECRET, _env_file=None))
    expires = datetime.now(UTC) + timedelta(days=1)
    with psycopg.connect(scratch.libpq) as conn:
        params = {"tag": uuid.uuid4().hex[:8], "balance": balance, "count": count}
        ids = [str(row[0]) for row in conn.execute(USERS, params).fetchall()]
        users = []
        for user_id in ids:
            body = secrets.token_urlsafe(32)
            users.append(BenchUser(user_id, f"{body}.{auth.sign(body)}"))
        with conn.cursor() as cur:
            cur.executemany(TOKEN, [(u.id, auth.token_hash(u.token), expires) for u in users])
    return users
