"""Search latency against the sandbox, with every market slowed to a known delay: a search
should take about as long as its slowest market, not the sum of them.

    .venv/bin/python bench/search_bench.py [--rounds 10]

Uses DATABASE_URL's server (else a throwaway embedded one) with a scratch database."""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from core import migrate
from core.config import Settings, get_settings
from core.database import seed
from core.db import create_engine, session_factory
from core.embedded_db import drop_database, ensure_database, start_embedded
from core.models.enums import MarketType
from markets.sandbox.credentials import sandbox_settings
from markets.sandbox.embedded import point_markets_at
from markets.search import SearchRequest, search

# Per-market delays (s): the slowest sets the expected search time.
DELAYS = {
    MarketType.AMAZON: 0.10,
    MarketType.EBAY: 0.20,
    MarketType.WALMART: 0.30,
    MarketType.TARGET: 0.40,
    MarketType.BESTBUY: 0.50,
}


def start_sandbox(home: str) -> tuple[str, subprocess.Popen[bytes]]:
    """`dealagent sandbox` in its own process, as a remote market would be."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "sandbox", "--port", str(port)],
        env={**os.environ, "DEALAGENT_HOME": home},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            httpx.get(f"{url}/_sandbox/state").raise_for_status()
            return url, proc
        except httpx.ConnectError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the sandbox did not start")


async def run(settings: Settings, url: str, rounds: int) -> None:
    engine = create_engine(settings, url)
    await seed(engine)
    sessions = session_factory(engine, settings)
    sandbox_url, proc = start_sandbox(str(settings.home))
    await point_markets_at(sessions, sandbox_url)
    async with httpx.AsyncClient() as http:
        for market, delay in DELAYS.items():
            body = {"market": market.value, "mode": "slow", "delay_s": delay}
            await http.post(f"{sandbox_url}/_sandbox/faults", json=body)
        await search(sessions, http, SearchRequest("warm up"), settings=settings)
        timings, per_market = [], {m: [] for m in DELAYS}
        for _ in range(rounds):
            started = time.perf_counter()
            result = await search(sessions, http, SearchRequest("4k monitor"), settings=settings)
            timings.append((time.perf_counter() - started) * 1000)
            for report in result.market_reports:
                assert report.status == "ok", report
                per_market[report.market].append(report.elapsed_ms)
    proc.terminate()
    proc.wait()
    await engine.dispose()
    slowest, total = max(DELAYS.values()) * 1000, sum(DELAYS.values()) * 1000
    print(f"search '4k monitor' over 5 sandbox markets, {rounds} rounds")
    for market, elapsed in per_market.items():
        print(
            f"  {market.value:8} delay {DELAYS[market] * 1000:5.0f} ms"
            f"  answered in median {statistics.median(elapsed):5.0f} ms"
        )
    print(f"  slowest market delay      {slowest:6.0f} ms")
    print(f"  sum of market delays      {total:6.0f} ms")
    print(
        f"  search latency median     {statistics.median(timings):6.0f} ms"
        f"  (min {min(timings):.0f}, max {max(timings):.0f})"
    )
    print(f"  overhead over slowest     {statistics.median(timings) - slowest:6.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    settings = get_settings()
    with tempfile.TemporaryDirectory() as home:
        settings = sandbox_settings(settings.model_copy(update={"dealagent_home": Path(home)}))
        server = None
        if settings.database_url:
            server_url = settings.database_url
        else:
            server = start_embedded(Path(home) / "pgdata", throwaway=True)
            server_url = server.get_uri()
        name = f"dealagent_bench_{uuid.uuid4().hex[:8]}"
        url = ensure_database(server_url, name)
        try:
            migrate.upgrade(url)
            asyncio.run(run(settings, url, args.rounds))
        finally:
            drop_database(server_url, name)
            if server:
                server.cleanup()


if __name__ == "__main__":
    main()
