"""Chat turns under load: 50 concurrent WebSocket sessions of a few turns each on the
offline model, against a real uvicorn serving the app. Prints p50/p99 of the time from
sending `user_message` to receiving its `assistant_message`, and SQL statements per turn.

    .venv/bin/python bench/chat_bench.py [--sessions 50] [--turns 4] [--message TEXT]

The server runs in this process (so a SQLAlchemy cursor-execute listener counts its
statements); the clients run in a child process so they do not share its GIL. With no
DATABASE_URL an embedded throwaway PostgreSQL is started.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.main import create_app  # noqa: E402
from api.ws_protocol import uvicorn_ws_options  # noqa: E402
from core import ledger  # noqa: E402
from core.config import Settings  # noqa: E402
from core.embedded_db import drop_database, ensure_database, start_embedded  # noqa: E402
from tests.chat_client import ready_chat, recv, send  # noqa: E402
from tests.live_server import serve_in_thread  # noqa: E402

PASSWORD = "bench-password-1"


async def client_main(base_url: str, tokens: list[str], turns: int, message: str) -> None:
    """The child process: every session at once; prints the latencies as JSON."""

    async def session(token: str) -> list[float]:
        ws, _ = await ready_chat(base_url, token)
        latencies = []
        for turn in range(turns + 1):  # the first turn warms up and is not measured
            msg_id = uuid.uuid4().hex
            started = time.perf_counter()
            await send(ws, {"type": "user_message", "id": msg_id, "content": message})
            while True:
                frame = await recv(ws, 60)
                if frame.get("id") == msg_id and frame["type"] in ("assistant_message", "error"):
                    break
            if frame["type"] == "error":
                raise RuntimeError(frame)
            if turn:
                latencies.append((time.perf_counter() - started) * 1000)
        await ws.close()
        return latencies

    results = await asyncio.gather(*(session(token) for token in tokens))
    print(json.dumps([ms for per_session in results for ms in per_session]))


async def make_users(base_url: str, app: Any, count: int) -> list[str]:
    """Registered over REST, credited enough for the run, logged in."""
    tokens = []
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", timeout=30) as http:
        for _ in range(count):
            email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
            reply = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
            reply.raise_for_status()
            user_id = uuid.UUID(reply.json()["id"])
            async with app.state.sessions() as session, session.begin():
                await ledger.reward(session, user_id, Decimal(1000), description="bench credit")
            login = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
            login.raise_for_status()
            tokens.append(login.json()["access_token"])
    return tokens


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(args: argparse.Namespace) -> None:
    server_url = os.environ.get("DATABASE_URL") or start_embedded(
        Path(tempfile.mkdtemp()) / "pg", throwaway=True
    )
    name = f"dealagent_bench_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=ensure_database(server_url, name),
        dealagent_home=Path(tempfile.mkdtemp()),
        chat_rate_limit=10_000,
        log_level="WARNING",
        _env_file=None,
    )
    app = create_app(settings)
    try:
        with serve_in_thread(app, **uvicorn_ws_options(settings)) as base_url:
            tokens = asyncio.run(make_users(base_url, app, args.sessions))
            statements = [0]

            @event.listens_for(app.state.engine.sync_engine, "before_cursor_execute")
            def count(*_: Any) -> None:
                statements[0] += 1

            child = subprocess.run(
                [sys.executable, __file__, "--client", base_url, "--turns", str(args.turns),
                 "--message", args.message],
                input=json.dumps(tokens), capture_output=True, text=True, check=False,
            )  # fmt: skip
            if child.returncode:
                raise SystemExit(child.stderr)
            latencies = json.loads(child.stdout)
    finally:
        drop_database(server_url, name)
    turns = args.sessions * (args.turns + 1)
    print(f"sessions={args.sessions} measured turns={len(latencies)} message={args.message!r}")
    print(
        f"send -> assistant_message: p50 {percentile(latencies, 0.5):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms, mean {statistics.mean(latencies):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    print(
        f"SQL statements per turn (SQLAlchemy engine): {statements[0] / turns:.1f} "
        "(plus 2 on the turn-lock connection: pg_advisory_lock/unlock)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=4, help="measured turns per session")
    parser.add_argument("--message", default="what's my balance?", help="one tool call")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        tokens = json.loads(sys.stdin.read())
        asyncio.run(client_main(args.client, tokens, args.turns, args.message))
    else:
        run(args)


if __name__ == "__main__":
    main()
