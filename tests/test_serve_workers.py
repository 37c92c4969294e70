"""`dealagent serve --workers 2` on a fresh machine: the parent runs the embedded
PostgreSQL and the sandbox marketplace once, two uvicorn workers serve the port, and
SIGTERM stops all of it."""

import asyncio
import signal
import time
import uuid

import httpx
import psutil
import psycopg

from tests import serve_process as serve
from tests.accounts_client import signed_up
from tests.chat_client import chat, ready_chat


def test_two_workers_share_one_database_and_sandbox(home):
    port = serve.free_port()
    base_url = f"http://127.0.0.1:{port}"
    proc = serve.start_serve(home, port, "--workers", "2")
    try:
        assert serve.wait_for_health(f"{base_url}/healthz", proc)["database"] == "reachable"
        children = psutil.Process(proc.pid).children()  # the workers, and multiprocessing's
        workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        assert len(workers) == 2
        frames = asyncio.run(sign_up_and_search(base_url))
        assert frames[-1]["type"] == "assistant_message", frames
        found = next(f for f in frames if f["type"] == "tool_result")["result"]["products"]
        sandbox_port = httpx.URL(found[0]["url"]).port  # the sandbox runs in the parent:
        assert has_socket(psutil.Process(proc.pid), sandbox_port, psutil.CONN_LISTEN)
        assert serving_pids(base_url, port, workers) == {w.pid for w in workers}
        postgres = serve.embedded_postgres(home)
        assert postgres, "the parent runs the embedded server from DEALAGENT_HOME"
        # One monitor, in the parent: the workers run none of their own.
        assert all(w.environ().get("MONITOR_IN_PROCESS") == "false" for w in workers)
        assert monitor_workers(workers[0].environ()["DATABASE_URL"]) == 1
    finally:
        output = serve.stop_serve(proc, home)
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert output.count("Application shutdown complete") == 2, output
    serve.assert_gone(children, "a child process")
    serve.assert_gone(postgres, "embedded PostgreSQL")


async def sign_up_and_search(base_url: str) -> list[dict]:
    """A user registered over REST runs one turn that searches the sandbox marketplace."""
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as client:
        _, tokens = await signed_up(client)
    ws, _ = await ready_chat(base_url, tokens["access_token"])
    try:
        return await chat(ws, uuid.uuid4().hex, "find me a 27-inch 4K monitor under $300")
    finally:
        await ws.close()


def serving_pids(base_url: str, port: int, workers: list[psutil.Process]) -> set[int]:
    """The workers that accepted one of up to 40 kept-alive connections."""
    clients = []
    try:
        for _ in range(40):
            client = httpx.Client(base_url=base_url, timeout=10)
            clients.append(client)
            client.get("/healthz").raise_for_status()
            serving = {w.pid for w in workers if has_socket(w, port, psutil.CONN_ESTABLISHED)}
            if len(serving) == len(workers):
                break
        return serving
    finally:
        for client in clients:
            client.close()


def monitor_workers(database_url: str) -> int:
    """Queue workers alive (their heartbeats), once the first has registered."""
    deadline = time.monotonic() + 30
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            count = conn.execute("SELECT count(*) FROM procrastinate.procrastinate_workers")
            found = count.fetchone()[0]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def has_socket(process: psutil.Process, port: int, status: str) -> bool:
    return any(c.status == status and c.laddr.port == port for c in process.net_connections("tcp"))
