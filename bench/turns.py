"""Chat turns on the offline model, end to end below the transport: prints p50/p99 of
run_turn (user message stored -> streamed -> reply stored and billed) and SQL per turn.

    .venv/bin/python bench/turns.py [--users 50] [--turns 4] [--profile]

DATABASE_URL picks the PostgreSQL server (a scratch database is made and dropped);
unset, a throwaway embedded one is started. The WebSocket layer's own figures come
from its bench; this one isolates the agent, the tools and the ledger.
"""

import argparse
import asyncio
import cProfile
import os
import pstats
import re
import statistics
import tempfile
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from agent.turn import TurnRequest, run_turn
from core import migrate
from core.config import Settings
from core.database import seed
from core.db import create_engine, session_factory
from core.embedded_db import drop_database, ensure_database, start_embedded
from core.models import User

# One tool call each, the shapes a conversation has.
SCRIPT = (
    "Watch for a 27-inch 4K monitor under $300 by 2030-01-31",
    "list my goals",
    "what's my balance?",
    "show my paused goals",
)


async def conversation(
    settings: Settings, sessions: Any, http: httpx.AsyncClient, turns: int
) -> list[float]:
    async with sessions.begin() as session:
        user = User(email=f"{uuid.uuid4().hex}@bench", password="x", token_balance=Decimal(1000))
        session.add(user)
    timings = []

    async def emit(frame: dict[str, Any]) -> None:
        pass

    for text in (SCRIPT * turns)[:turns]:
        request = TurnRequest(user.id, sessions, http, settings, uuid.uuid4().hex, text)
        started = time.perf_counter()
        await run_turn(request, emit)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def bench(url: str, users: int, turns: int, profile: bool) -> None:
    settings = Settings(
        database_url=url, dealagent_home=Path(tempfile.mkdtemp()), db_pool_max=20, _env_file=None
    )
    engine = create_engine(settings, url)
    await seed(engine)
    statements = 0

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def count(*args: Any) -> None:
        nonlocal statements
        statements += 1

    sessions = session_factory(engine, settings)
    async with httpx.AsyncClient() as http:
        await conversation(settings, sessions, http, 2)  # warm: pool, compiled agent, tiktoken
        statements = 0
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        started, cpu = time.perf_counter(), time.process_time()
        runs = await asyncio.gather(
            *(conversation(settings, sessions, http, turns) for _ in range(users))
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler:
            profiler.disable()
    await engine.dispose()
    timings = sorted(t for run in runs for t in run)
    total = len(timings)
    p99 = timings[min(total - 1, int(total * 0.99))]
    print(f"{users} concurrent users x {turns} turns = {total} turns in {wall:.2f} s")
    print(f"turn latency ms: p50 {statistics.median(timings):.1f}  p99 {p99:.1f}")
    print(f"SQL statements per turn: {(statements - users) / total:.1f} (user setup excluded)")
    print(
        f"throughput: {total / wall:.0f} turns/s; "
        f"CPU of this process per turn: {cpu / total * 1000:.1f} ms"
    )
    if profiler:
        print_profile(profiler)


def print_profile(profiler: cProfile.Profile) -> None:
    """Own time per package: where a turn's CPU goes."""
    by_package: Counter[str] = Counter()
    for (path, _, name), (_, _, own, _, _) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        found = re.search(r"site-packages/([^/]+)/", path) or re.search(
            r"/(agent|core|tools)/", path
        )
        by_package[found[1] if found else f"{Path(path).name}:{name}"] += own
    total = sum(by_package.values())
    for package, seconds in by_package.most_common(15):
        print(f"{seconds / total:6.1%}  {package}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL")
    scratch = tempfile.TemporaryDirectory(prefix="dealagent-bench-")
    server = None
    if not server_url:
        server = start_embedded(Path(scratch.name) / "data", throwaway=True)
        server_url = server.get_uri()
    name = f"dealagent_bench_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server_url, name)
    try:
        migrate.upgrade(url)
        asyncio.run(bench(url, args.users, args.turns, args.profile))
    finally:
        drop_database(server_url, name)
        if server:
            server.cleanup()
        scratch.cleanup()


if __name__ == "__main__":
    main()
