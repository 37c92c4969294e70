"""Ledger throughput: concurrent deductions on many users, and on one hot user, with the
ledger's invariants checked afterwards (each user's balance = its start - its deductions,
one balance-history row per transaction, the history's chain unbroken)."""

import asyncio
import statistics
import time
import uuid
from decimal import Decimal
from typing import Any

import psycopg

from bench.scratch import Scratch
from core import ledger
from core.config import Settings
from core.db import create_engine, libpq_url, session_factory
from core.models import User

# Every user's balance agrees with its transactions; every transaction has its history
# row; each history row adds up and chains to the one before (balances only fall here).
INVARIANTS = """
WITH h AS (
  SELECT user_id, balance_before, balance_after, change_amount,
         lag(balance_after) OVER (PARTITION BY user_id ORDER BY balance_before DESC) AS prev
  FROM token_balance_history WHERE user_id = ANY(%(ids)s::uuid[])
), t AS (
  SELECT user_id, sum(amount) AS spent, count(*) AS n FROM token_transactions
  WHERE status = 'completed' AND user_id = ANY(%(ids)s::uuid[]) GROUP BY user_id
)
SELECT
  (SELECT count(*) FROM users u LEFT JOIN t ON t.user_id = u.id
    WHERE u.id = ANY(%(ids)s::uuid[]) AND u.token_balance <> %(start)s - coalesce(t.spent, 0)),
  (SELECT coalesce(sum(n), 0) FROM t) - (SELECT count(*) FROM h),
  (SELECT count(*) FROM h WHERE balance_after <> balance_before + change_amount
     OR balance_before <> coalesce(prev, %(start)s)),
  (SELECT coalesce(sum(n), 0) FROM t)
"""


async def run(url: str, ops: int, concurrency: int) -> dict[str, Any]:
    settings = Settings(database_url=url, db_pool_max=concurrency, _env_file=None)
    engine = create_engine(settings, url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        users = [
            User(email=f"{uuid.uuid4().hex}@bench", password="x", token_balance=Decimal(ops))
            for _ in range(concurrency)
        ]
        session.add_all(users)
    ids = [u.id for u in users]

    async def scenario(pick: list[uuid.UUID]) -> dict[str, float]:
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
        return {"per_s": ops / elapsed, "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000}

    rows = [
        {"users": "one per worker", "deductions": ops, **await scenario(ids)},
        {"users": "one hot user", "deductions": ops, **await scenario(ids[:1])},
    ]
    await engine.dispose()
    return {"concurrency": concurrency, "rows": rows, **invariants(url, ids, ops)}


def invariants(url: str, ids: list[uuid.UUID], start: int) -> dict[str, Any]:
    with psycopg.connect(libpq_url(url)) as conn:
        params = {"start": start, "ids": ids}
        wrong, unmatched, broken, booked = conn.execute(INVARIANTS, params).fetchone()
    if wrong or unmatched or broken:
        raise AssertionError(
            f"ledger invariants broken: {wrong} balances, {unmatched} missing history rows, "
            f"{broken} history rows out of the chain"
        )
    return {"invariants": "held", "transactions_checked": booked}


def ledger_section(scratch: Scratch, quick: bool) -> dict[str, Any]:
    ops, concurrency = (200, 10) if quick else (2000, 20)
    return asyncio.run(run(scratch.url, ops, concurrency))
