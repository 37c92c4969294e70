"""Search fan-out against the sandbox (a `dealagent sandbox` process), every market slowed
to a known delay: a search should take about as long as its slowest market, not the sum."""

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from bench.scratch import Scratch
from core.config import Settings
from core.db import create_engine, session_factory
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


async def run(settings: Settings, url: str, rounds: int) -> dict[str, Any]:
    engine = create_engine(settings, url)
    sessions = session_factory(engine, settings)
    sandbox_url, proc = start_sandbox(str(settings.home))
    try:
        await point_markets_at(sessions, sandbox_url)
        async with httpx.AsyncClient() as http:
            for market, delay in DELAYS.items():
                body = {"market": market.value, "mode": "slow", "delay_s": delay}
                await http.post(f"{sandbox_url}/_sandbox/faults", json=body)
            await search(sessions, http, SearchRequest("warm up"), settings=settings)
            timings, per_market = [], {m: [] for m in DELAYS}
            for _ in range(rounds):
                started = time.perf_counter()
                asked = SearchRequest("4k monitor")
                result = await search(sessions, http, asked, settings=settings)
                timings.append((time.perf_counter() - started) * 1000)
                for report in result.market_reports:
                    assert report.status == "ok", report
                    per_market[report.market].append(report.elapsed_ms)
    finally:
        proc.terminate()
        proc.wait()
        await engine.dispose()
    slowest = max(DELAYS.values()) * 1000
    median = statistics.median(timings)
    return {
        "rounds": rounds,
        "rows": [
            {
                "market": market.value,
                "delay_ms": DELAYS[market] * 1000,
                "answered_median_ms": statistics.median(elapsed),
            }
            for market, elapsed in per_market.items()
        ],
        "slowest_market_ms": slowest,
        "sum_of_markets_ms": sum(DELAYS.values()) * 1000,
        "search_median_ms": median,
        "search_over_slowest": median / slowest,
    }


def search_section(scratch: Scratch, quick: bool) -> dict[str, Any]:
    home = scratch.home / "search"
    settings = sandbox_settings(Settings(database_url=scratch.url, dealagent_home=home))
    return asyncio.run(run(settings, scratch.url, 3 if quick else 10))
