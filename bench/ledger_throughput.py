"""Ledger throughput: concurrent deductions on many users, and on one hot user.

Usage: .venv/bin/python bench/ledger_throughput.py [--ops 2000] [--concurrency 20]
Uses DATABASE_URL's server when set, else a throwaway embedded PostgreSQL; works in a
scratch database that is dropped afterwards. Prints operations per second and latencies.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from core import ledger, migrate
from core.config import Settings
from core.database import seed
from core.db import create_engine, session_factory
from core.embedded_db import drop_database, ensure_database, start_embedded
from core.models import User


async def run(url: str, ops: int, concurrency: int) -> None:
    settings = Settings(database_url=url, db_pool_max=concurrency, _env_file=None)
    engine = create_engine(settings, url)
    await seed(engine)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        users = [
            User(email=f"{uuid.uuid4().hex}@bench", password="x", token_balance=Decimal(ops))
            for _ in range(concurrency)
        ]
        session.add_all(users)
    ids = [u.id for u in users]

    async def scenario(name: str, pick: list[uuid.UUID]) -> None:
        latencies: list[float] = []
        queue = iter(range(ops))

        async def worker() -> None:
            for i in queue:
                start = time.perf_counter()
                user_id = pick[i % len(pick)]
                async with sessions() as session, session.begin():
                    await ledger.deduct(session, user_id, Decimal("0.5"), description="bench")
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        q = statistics.quantiles(latencies, n=100)
        print(
            f"{name:<22} {ops} deductions, {concurrency} concurrent: {ops / elapsed:7.0f}/s, "
            f"p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms"
        )

    await scenario("one user per worker", ids)
    await scenario("one hot user", ids[:1])
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = os.environ.get("DATABASE_URL") or start_embedded(Path(tmp) / "pg", throwaway=True)
        name = f"dealagent_bench_{uuid.uuid4().hex[:8]}"
        url = ensure_database(server, name)
        try:
            migrate.upgrade(url)
            asyncio.run(run(url, args.ops, args.concurrency))
        finally:
            drop_database(server, name)


if __name__ == "__main__":
    main()
