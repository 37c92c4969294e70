"""Deal queries at scale: core.deals.query_deals (what the query_deals tool and REST
`GET /api/v1/deals` both run) over many deals across goals and users, p50/p95 per query
shape, with the indexes each shape's plan uses (EXPLAIN). The rows are made by single
INSERT … SELECT generate_series statements, then VACUUMed and ANALYZEd."""

import asyncio
import json
import random
import statistics
import time
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from bench.scratch import Scratch
from core.config import Settings
from core.db import create_engine, reading, session_factory
from core.deals import DealFilters, deals_statement, query_deals
from core.models import Goal
from core.models.enums import DealStatus, MarketCategory, MarketType

USERS = """
INSERT INTO users (email, password) SELECT 'deals-' || i || '@bench.example', 'x'
FROM generate_series(1, %(users)s) i
"""
GOALS = """
INSERT INTO goals (user_id, title, category)
SELECT u.ids[1 + i %% %(users)s], 'goal ' || i, 'electronics'
FROM generate_series(0, %(goals)s - 1) i,
     (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE email LIKE 'deals-%%') u
"""
# Titles from a few words, prices 5-1005, a discount on most, categories and statuses mixed.
DEALS = """
INSERT INTO deals (goal_id, market_id, title, url, current_price, original_price,
                   discount_percent, category, source, status, found_at)
SELECT g.ids[1 + i %% %(goals)s], m.ids[1 + i %% 5],
       (ARRAY['4K monitor', 'mechanical keyboard', 'noise cancelling headphones',
              'standing desk', 'espresso machine', 'running shoes', 'lego set',
              'gaming mouse', 'robot vacuum', 'air fryer'])[1 + (i / 7) %% 10] || ' ' || i,
       'https://shop.example/item/' || i,
       p.price, p.price * 1.25, CASE WHEN i %% 4 = 0 THEN NULL ELSE 20 END,
       (ARRAY['electronics', 'home', 'sports', 'toys', 'books']::marketcategory[])[1 + i %% 5],
       'api',
       (ARRAY['active', 'active', 'active', 'sold_out', 'expired']::dealstatus[])[1 + i %% 5],
       now() - make_interval(mins => i %% 100000)
FROM generate_series(0, %(deals)s - 1) i,
     (SELECT array_agg(id ORDER BY id) AS ids FROM goals WHERE title LIKE 'goal %%') g,
     (SELECT array_agg(id ORDER BY type) AS ids FROM markets) m,
     LATERAL (SELECT round((5 + (i::bigint * 7919 %% 100000) / 100.0)::numeric, 2) AS price) p
"""


@dataclass(frozen=True)
class Scale:
    users: int
    goals: int
    deals: int
    runs: int  # timed queries per shape


FULL = Scale(users=1000, goals=10_000, deals=1_000_000, runs=200)
QUICK = Scale(users=100, goals=1000, deals=20_000, runs=20)

SHAPES: dict[str, DealFilters] = {
    "all mine, newest": DealFilters(),
    "one goal, cheapest": DealFilters(sort="price"),  # goal_id set per run
    "under $100, 15%+ off, by discount": DealFilters(
        max_price=Decimal(100), min_discount=Decimal(15), sort="discount"
    ),
    "active, one category, newest": DealFilters(
        status=DealStatus.ACTIVE, category=MarketCategory.HOME
    ),
    "one market, cheapest": DealFilters(market=MarketType.AMAZON, sort="price"),
    "text 'headphones'": DealFilters(text="headphones"),
    # No deal holds it: the text filter then reads every deal of the user's goals.
    "text 'zebra' (no match)": DealFilters(text="zebra"),
}


def fill(scratch: Scratch, scale: Scale) -> None:
    params = {"users": scale.users, "goals": scale.goals, "deals": scale.deals}
    with psycopg.connect(scratch.libpq, autocommit=True) as conn:
        for statement in (USERS, GOALS, DEALS):
            conn.execute(statement, params)
        # VACUUM sets the visibility map: without it, the index-only scan query_deals ranks
        # a page with still visits every row in the table. Production's autovacuum sets it
        # too (after inserts as well), but not in the seconds between this fill and the
        # first query.
        conn.execute("VACUUM (ANALYZE) users, goals, deals")


def indexes_used(plan: dict[str, Any]) -> set[str]:
    found = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= indexes_used(child)
    return found


async def run(scratch: Scratch, scale: Scale) -> list[dict[str, Any]]:
    settings = Settings(database_url=scratch.url, _env_file=None)
    engine = create_engine(settings, scratch.url)
    sessions = session_factory(engine, settings)
    rng = random.Random(14)
    async with reading(sessions) as session:
        owners = (await session.execute(select(Goal.user_id, Goal.id))).all()
    rows = []
    for name, shape in SHAPES.items():
        timings, plans = [], set()
        for i in range(scale.runs + 1):
            user_id, goal_id = rng.choice(owners)
            filters = replace(shape, goal_id=goal_id) if "one goal" in name else shape
            async with reading(sessions) as session:
                started = time.perf_counter()
                await query_deals(session, user_id, filters)
                if i:  # the first one warms the cache
                    timings.append((time.perf_counter() - started) * 1000)
        async with reading(sessions) as session:
            plans = await explain(session, user_id, filters)
        rows.append(
            {
                "shape": name,
                "p50_ms": statistics.median(timings),
                "p95_ms": statistics.quantiles(timings, n=20)[18],
                "indexes": ", ".join(sorted(plans)) or "none (sequential scan)",
            }
        )
    await engine.dispose()
    return rows


async def explain(session: Any, user_id: uuid.UUID, filters: DealFilters) -> set[str]:
    """The indexes the plan of query_deals' statement uses."""
    statement = deals_statement(user_id, filters).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    conn = await session.connection()
    plan = (await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}")).scalar()
    return indexes_used((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])


def deals_section(scratch: Scratch, quick: bool) -> dict[str, Any]:
    scale = QUICK if quick else FULL
    began = time.perf_counter()
    fill(scratch, scale)
    filled_s = time.perf_counter() - began
    rows = asyncio.run(run(scratch, scale))
    return {
        "users": scale.users,
        "goals": scale.goals,
        "deals": scale.deals,
        "fill_s": filled_s,
        "rows": rows,
        "p95_goal_met": all(r["p95_ms"] <= 10 for r in rows),
    }
