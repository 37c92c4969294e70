"""Chat turns over the WebSocket, the whole stack: users signed up over REST, then one
session alone and then 50 concurrent sessions of a few turns each on the offline model,
against a real uvicorn serving the app. Prints p50/p99 of the time from sending
`user_message` to receiving its `assistant_message`, and SQL statements per turn.

    .venv/bin/python bench/chat_bench.py [--sessions 50] [--turns 4] [--profile]
        [--server-url http://127.0.0.1:8000]

The server runs in this process (a SQLAlchemy cursor-execute listener counts its
statements; --profile samples its thread to show where the time goes); the clients run in
a child process so they do not share its GIL. DATABASE_URL picks the PostgreSQL server (a
scratch database is made and dropped); unset, a throwaway embedded one is started.

--server-url drives an already running server instead (e.g. `dealagent serve --workers 2`
started with CHAT_RATE_LIMIT=100000 REGISTER_MAX_PER_CLIENT=100000): latencies only.
DATABASE_URL must then be that server's database; the bench users' tokens are credited
there.
"""

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
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
from core.db import create_engine, session_factory  # noqa: E402
from core.embedded_db import drop_database, ensure_database, start_embedded  # noqa: E402
from tests.chat_client import ready_chat, recv, send  # noqa: E402
from tests.live_server import serve_in_thread  # noqa: E402

PASSWORD = "bench-password-1"
# Lock, facts, unlock: the turn gate's statements on its own (psycopg) connection.
GATE_STATEMENTS = 3


async def client_main(base_url: str, tokens: list[str], turns: int, message: str) -> None:
    """The child process: every session at once; prints the latencies (ms) as JSON."""

    async def session(token: str) -> list[float]:
        ws, _ = await ready_chat(base_url, token)
        latencies = []
        for turn in range(turns + 1):  # the first turn warms up and is not measured
            msg_id = uuid.uuid4().hex
            started = time.perf_counter()
            await send(ws, {"type": "user_message", "id": msg_id, "content": message})
            while True:
                frame = await recv(ws, 120)
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


async def make_users(base_url: str, settings: Settings, count: int) -> list[str]:
    """Signed up over REST, credited enough for the run, logged in."""
    tokens = []
    engine = create_engine(settings, settings.database_url or "")  # this thread's own
    sessions = session_factory(engine, settings)
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", timeout=60) as http:
        for _ in range(count):
            email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
            reply = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
            reply.raise_for_status()
            user_id = uuid.UUID(reply.json()["id"])
            async with sessions() as session, session.begin():
                await ledger.reward(session, user_id, Decimal(1000), description="bench credit")
            login = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
            login.raise_for_status()
            tokens.append(login.json()["access_token"])
    await engine.dispose()
    return tokens


def profile_first_thread(profiler: cProfile.Profile) -> Any:
    started = threading.Event()

    def hook(*_: Any) -> None:
        sys.setprofile(None)
        if not started.is_set():
            started.set()
            profiler.enable()  # in the calling thread only

    return hook


def own_time_by_package(profile: cProfile.Profile, top: int = 14) -> str:
    """cProfile's own (not cumulative) time, summed per package."""
    totals: Counter[str] = Counter()
    for (path, _, function), row in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in path:
            name = path.split("site-packages/", 1)[1].split("/", 1)[0]
        elif path.startswith(str(ROOT)):
            name = path[len(str(ROOT)) + 1 :].split("/", 1)[0] + "/ (ours)"
        elif path == "~":
            name = f"builtin {function}"
        else:
            name = "python stdlib"
        totals[name] += row[2]
    whole = sum(totals.values()) or 1
    rows = [f"  {100 * t / whole:5.1f}%  {t:6.2f} s  {n}" for n, t in totals.most_common(top)]
    return "server, own time by package (cProfile):\n" + "\n".join(rows)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def drive(base_url: str, tokens: list[str], turns: int, message: str) -> list[float]:
    child = subprocess.run(
        [sys.executable, __file__, "--client", base_url, "--turns", str(turns),
         "--message", message],
        input=json.dumps(tokens), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if child.returncode:
        raise SystemExit(child.stderr)
    return json.loads(child.stdout)


def phase(label: str, app: Any, base_url: str, tokens: list[str], turns: int, args: Any) -> None:
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    cpu_before = time.process_time()  # this process: the server (the clients are a child)
    try:
        latencies = drive(base_url, tokens, turns, args.message)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    all_turns = len(tokens) * (turns + 1)
    cpu_ms = (time.process_time() - cpu_before) * 1000 / all_turns
    print(
        f"{timings(label, len(tokens), latencies)}; server CPU {cpu_ms:.1f} ms/turn; SQL per turn "
        f"{statements[0] / all_turns:.1f} (engine, connect included) + {GATE_STATEMENTS} (gate)"
    )


def timings(label: str, sessions: int, latencies: list[float]) -> str:
    return (
        f"{label}: {sessions} session(s), {len(latencies)} measured turns: "
        f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"mean {statistics.mean(latencies):.1f} ms"
    )


def run_against(args: argparse.Namespace) -> None:
    """--server-url: a server running elsewhere; DATABASE_URL is its database."""
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("--server-url needs DATABASE_URL: the server's database")
    settings = Settings(database_url=os.environ["DATABASE_URL"], _env_file=None)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    tokens = asyncio.run(make_users(args.server_url, settings, args.sessions + 1))
    for label, users, turns in (
        ("alone", tokens[:1], args.alone_turns),
        ("concurrent", tokens[1:], args.turns),
    ):
        latencies = drive(args.server_url, users, turns, args.message)
        print(timings(label, len(users), latencies))


def run(args: argparse.Namespace) -> None:
    server_url = os.environ.get("DATABASE_URL") or start_embedded(
        Path(tempfile.mkdtemp()) / "pg", throwaway=True
    )
    name = f"dealagent_bench_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=ensure_database(server_url, name),
        dealagent_home=Path(tempfile.mkdtemp()),
        chat_rate_limit=100_000,
        register_max_per_client=100_000,  # every bench user signs up from this address
        sandbox_port=0,  # a throwaway database: no stored URLs to keep
        log_level="WARNING",
        _env_file=None,
    )
    app = create_app(settings)
    load = os.getloadavg()[0]
    print(f"message {args.message!r}; load average {load:.2f} on {os.cpu_count()} CPUs")
    profiler = cProfile.Profile()
    try:
        if args.profile:  # the next thread started is the server's: profile it from its start
            threading.setprofile(profile_first_thread(profiler))
        with serve_in_thread(app, **uvicorn_ws_options(settings)) as base_url:
            threading.setprofile(None)  # type: ignore[arg-type]
            tokens = asyncio.run(make_users(base_url, settings, args.sessions + 1))
            phase("alone", app, base_url, tokens[:1], args.alone_turns, args)
            profiler.clear()  # the concurrent phase alone (the server is idle now)
            phase("concurrent", app, base_url, tokens[1:], args.turns, args)
    finally:
        drop_database(server_url, name)
    if args.profile:
        print(own_time_by_package(profiler))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=4, help="measured turns per session")
    parser.add_argument("--alone-turns", type=int, default=20, help="turns of the lone session")
    parser.add_argument("--message", default="what's my balance?", help="one tool call")
    parser.add_argument("--profile", action="store_true", help="cProfile the server thread")
    parser.add_argument("--server-url", help="drive this running server (see above)")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        tokens = json.loads(sys.stdin.read())
        asyncio.run(client_main(args.client, tokens, args.turns, args.message))
    elif args.server_url:
        run_against(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
