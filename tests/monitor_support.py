"""`dealagent worker` and `dealagent serve` as real child processes on a test database and
a test sandbox, with the monitor's intervals in seconds."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from monitor.schedule import QUEUE_SCHEMA
from tests.serve_process import free_port, wait_for_health

T = TypeVar("T")

FAST_MONITOR = {
    "MONITOR_TICK_S": "1",
    "MONITOR_INTERVAL_HIGH_S": "2",
    "MONITOR_INTERVAL_MEDIUM_S": "2",
    "MONITOR_INTERVAL_LOW_S": "2",
    "MONITOR_STALLED_S": "2",
    "MARKET_TIMEOUT_S": "5",
}


def child_env(database_url: str, sandbox_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "SANDBOX_"))}
    return {
        **env,
        **FAST_MONITOR,
        "DATABASE_URL": database_url,
        "SANDBOX_URL": sandbox_url,
        "LOG_LEVEL": "INFO",
        **extra,
    }


def start(args: list[str], env: dict[str, str], log_path: str) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 - the child writes it until it exits
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )


@contextmanager
def worker_process(
    database_url: str, sandbox_url: str, log_path: str, **extra: str
) -> Iterator[subprocess.Popen]:
    proc = start(
        ["worker", "--concurrency", "2"], child_env(database_url, sandbox_url, **extra), log_path
    )
    try:
        yield proc
    finally:
        stop(proc)


@contextmanager
def server_process(database_url: str, sandbox_url: str, log_path: str) -> Iterator[str]:
    """`dealagent serve` with no monitor of its own: checks run in the worker process."""
    port = free_port()
    env = child_env(database_url, sandbox_url, MONITOR_IN_PROCESS="false")
    proc = start(["serve", "--port", str(port)], env, log_path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(f"{base_url}/healthz", proc)
        yield base_url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def eventually(probe: Callable[[], Awaitable[T | None]], wait_s: float = 30) -> T:
    """The first truthy answer of `probe`, asked again until `wait_s` runs out."""
    deadline = time.monotonic() + wait_s
    while True:
        found = await probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"nothing after {wait_s} s"
        await asyncio.sleep(0.2)


async def jobs_of(
    sessions: async_sessionmaker[AsyncSession], task: str, *, unfinished: bool = False, **args: str
) -> int:
    """How many `task` jobs with these arguments the queue holds; `unfinished`: only those
    queued or running."""
    query = (
        f"SELECT count(*) FROM {QUEUE_SCHEMA}.procrastinate_jobs "
        "WHERE task_name = :task AND args @> CAST(:args AS jsonb)"
    )
    if unfinished:
        query += " AND status IN ('todo', 'doing')"
    async with sessions() as session:
        return await session.scalar(text(query), {"task": task, "args": json.dumps(args)})


async def jobs_settled(sessions: async_sessionmaker[AsyncSession], task: str, **args: str) -> bool:
    """No such job is queued or running: nothing more of it can happen (what a test waits
    for instead of sleeping "long enough")."""
    return await jobs_of(sessions, task, unfinished=True, **args) == 0


async def pin_price(sandbox_url: str, market: str, item_id: str, price: str) -> None:
    async with httpx.AsyncClient() as http:
        body = {"market": market, "item_id": item_id, "price": price}
        (await http.post(f"{sandbox_url}/_sandbox/prices", json=body)).raise_for_status()
