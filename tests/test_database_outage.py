"""`dealagent serve` through a lost database: its embedded PostgreSQL killed (-9) is started
again by serve itself; an external server stopped, or hung, and back again is used again
without a restart of serve. Meanwhile /healthz says so, within its bound, and no more."""

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from core.embedded_supervisor import running
from tests.chat_accounts import registered_user
from tests.chat_client import chat, ready_chat
from tests.monitor_support import eventually
from tests.serve_process import free_port, start_serve, stop_serve, wait_for_health
from tests.throwaway_cluster import throwaway_cluster

pytestmark = pytest.mark.once  # its own clusters (or none): not the shared server's business

DEGRADED = {"status": "degraded", "database": "unreachable"}
NO_MONITOR = {"MONITOR_IN_PROCESS": "false"}


async def healthy(base_url: str, proc) -> dict:
    return await asyncio.to_thread(wait_for_health, f"{base_url}/healthz", proc)


async def a_turn_answers(base_url: str) -> None:
    """A whole request path: sign-up over REST, a chat turn stored and billed."""
    user = await registered_user(base_url)
    ws, _ = await ready_chat(base_url, user.token)
    frames = await chat(ws, "1", "what's my balance?")
    assert frames[-1]["type"] == "assistant_message", frames[-1]
    await ws.close()


async def a_goal_is_checked(base_url: str) -> None:
    """The monitor works: a goal made in the chat gets its first check."""
    user = await registered_user(base_url)
    ws, _ = await ready_chat(base_url, user.token)
    frames = await chat(ws, "1", "Watch for a 4K monitor under $300")
    assert frames[-1]["type"] == "assistant_message", frames[-1]
    await ws.close()
    headers = {"Authorization": f"Bearer {user.token}"}
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", headers=headers) as http:

        async def checked() -> bool:
            (goal,) = (await http.get("/goals")).json()["items"]
            return goal["last_checked_at"] is not None

        await eventually(checked)


async def degraded_within_bound(base_url: str, wait_s: float = 30) -> None:
    """/healthz turns 503 with the bare body, each answer within its bound."""
    deadline = time.monotonic() + wait_s
    async with httpx.AsyncClient(base_url=base_url) as http:
        while True:
            started = time.monotonic()
            response = await http.get("/healthz", timeout=10)
            assert time.monotonic() - started < 2.5
            if response.status_code == 503:
                assert response.json() == DEGRADED
                return
            assert time.monotonic() < deadline, "/healthz never saw the database gone"
            await asyncio.sleep(0.2)


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


async def started_again(pgdata: Path, dead: int, wait_s: float = 60) -> int:
    deadline = time.monotonic() + wait_s
    while True:
        pid = postmaster_pid(pgdata)
        if pid not in (None, dead) and running(psutil.Process(pid)):
            return pid
        assert time.monotonic() < deadline, "the embedded PostgreSQL was not started again"
        await asyncio.sleep(0.2)


async def test_serve_starts_its_killed_embedded_postgres_again(home):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    proc = start_serve(home, port)  # and its monitor
    try:
        await healthy(base_url, proc)
        await a_turn_answers(base_url)  # the pools now hold connections the kill breaks
        pgdata = home / "home" / "pgdata"
        killed = postmaster_pid(pgdata)
        os.kill(killed, signal.SIGKILL)
        await started_again(pgdata, killed)
        await healthy(base_url, proc)
        await a_turn_answers(base_url)
        await a_goal_is_checked(base_url)
    finally:
        output = stop_serve(proc, home)
    assert f"embedded PostgreSQL (pid {killed})" in output and "died" in output, output
    assert "embedded PostgreSQL running again" in output


async def test_serve_uses_an_external_server_again_once_it_is_back(home):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with throwaway_cluster() as cluster:
        env = {**NO_MONITOR, "DATABASE_URL": cluster.database("dealagent")}
        proc = start_serve(home, port, env=env)
        try:
            await healthy(base_url, proc)
            await a_turn_answers(base_url)

            cluster.signal_all(signal.SIGSTOP)  # hung: connections open, nothing answers
            try:
                await degraded_within_bound(base_url)
            finally:
                cluster.signal_all(signal.SIGCONT)
            await healthy(base_url, proc)

            cluster.stop()  # down: nothing listens
            await degraded_within_bound(base_url)
            cluster.start()
            await healthy(base_url, proc)
            await a_turn_answers(base_url)
        finally:
            output = stop_serve(proc, home)
    assert "database unreachable" in output  # the details are logged, not answered
