"""Turn cost, side by side: the bare floor, the bare LangChain server and dealagent, each
a process of its own on the same scratch database, each driven by N concurrent sessions
of M turns ("what's my balance?": one tool call, one SELECT). Then dealagent with
`serve --workers 2` (scale-out), and 1,000 idle sockets on dealagent (connections)."""

import asyncio
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.idle_sockets import IdleSockets
from bench.profile import Profiler
from bench.report import cell
from bench.scratch import BenchUser, Scratch, make_users
from bench.servers import BASELINE, DEALAGENT, FLOOR, LANGCHAIN, ROOT, Server, running
from bench.sessions import Run, close_all, drive, one_turn, open_session, warm
from bench.sql_counter import counting

SERVERS = (FLOOR, LANGCHAIN, DEALAGENT)


@dataclass(frozen=True)
class Plan:
    sessions: tuple[int, ...]  # concurrent sessions, one run each
    turns: int  # measured turns in all, per session count (at least 3 per session)
    counted_turns: int  # turns of the statement-counting run
    idle_sockets: int
    # Time the servers started behind the statement counter, so each starts once: the
    # counter's hop then shows in the timings (--quick, which asserts nothing about speed).
    timed_behind_counter: bool = False

    def per_session(self, sessions: int) -> int:
        return max(3, self.turns // sessions)


FULL = Plan(sessions=(50, 200), turns=500, counted_turns=20, idle_sockets=1000)
QUICK = Plan(sessions=(10,), turns=30, counted_turns=3, idle_sockets=50, timed_behind_counter=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency_row(run: Run, cpu_s: float) -> dict[str, float]:
    return {
        "p50_ms": percentile(run.latencies_ms, 0.50),
        "p95_ms": percentile(run.latencies_ms, 0.95),
        "p99_ms": percentile(run.latencies_ms, 0.99),
        "turns_per_s": run.turns / run.wall_s,
        "cpu_ms_per_turn": cpu_s * 1000 / run.turns,
    }


async def measured(
    server: Server, users: list[BenchUser], turns: int, profiler: Profiler | None = None
) -> dict[str, float]:
    sockets = await warm(server, users)
    try:
        if profiler:
            profiler.start()
        cpu = server.cpu_s()
        run = await drive(server, sockets, turns)
        return latency_row(run, server.cpu_s() - cpu)
    finally:
        await close_all(sockets)


def profile(scratch: Scratch, plan: Plan) -> dict[str, Any]:
    """The LangChain server and dealagent under the first session count, each sampled by
    py-spy (runs of their own): each package's own CPU ms per turn, side by side."""
    users = make_users(scratch, plan.sessions[0])
    found = {}
    for kind in (LANGCHAIN, DEALAGENT):
        with running(kind, scratch) as server:
            profiler = Profiler(server.proc.pid, Path(f"bench-profile-{kind}.txt"))
            figures = asyncio.run(measured(server, users, plan.per_session(len(users)), profiler))
            summary = profiler.stop()
        if summary is None:
            return {"skipped": "py-spy is not installed (pip install py-spy)"}
        found[kind] = (figures["cpu_ms_per_turn"], summary)
    return {
        "sessions": plan.sessions[0],
        **{f"{kind}_cpu_ms_per_turn": cpu for kind, (cpu, _) in found.items()},
        "stacks": ", ".join(f"bench-profile-{kind}.txt" for kind in found),
        "by_package_ms_per_turn": by_package(found),
        "dealagent_inclusive": found[DEALAGENT][1]["ours_inclusive"],
    }


def by_package(found: dict[str, tuple[float, dict[str, Any]]], top: int = 16) -> list[dict]:
    """Own CPU ms per turn of each package in both servers, the largest differences first."""
    ms = {
        kind: {name: cpu * percent / 100 for name, percent in summary["by_package"].items()}
        for kind, (cpu, summary) in found.items()
    }
    theirs, ours = ms[LANGCHAIN], ms[DEALAGENT]
    rows = [
        {
            "package": name,
            "langchain_ms": theirs.get(name, 0.0),
            "dealagent_ms": ours.get(name, 0.0),
            "extra_ms": ours.get(name, 0.0) - theirs.get(name, 0.0),
        }
        for name in theirs.keys() | ours.keys()
    ]
    rows.sort(key=lambda row: -abs(row["extra_ms"]))
    return rows[:top]


async def sql_per_turn(server: Server, user: BenchUser, turns: int, counter: Any) -> dict:
    ws = await open_session(server, user)
    await one_turn(ws, server)
    counter.reset()
    for _ in range(turns):
        await one_turn(ws, server)
    await ws.close()
    return {
        "statements_per_turn": counter.statements / turns,
        "round_trips_per_turn": counter.round_trips / turns,
    }


def server_rows(
    scratch: Scratch, kind: str, users: list[BenchUser], plan: Plan, root: Path = ROOT
) -> list[dict]:
    """The statement count (its own short run), then each session count's timed run."""
    with (
        counting(scratch.libpq) as (counter, proxied),
        running(kind, scratch, database_url=proxied, root=root) as server,
    ):
        sql = asyncio.run(sql_per_turn(server, users[-1], plan.counted_turns, counter))
        if plan.timed_behind_counter:
            return [timed(server, users, plan, n, sql) for n in plan.sessions]
    with running(kind, scratch, root=root) as server:
        return [timed(server, users, plan, n, sql) for n in plan.sessions]


def timed(server: Server, users: list[BenchUser], plan: Plan, n: int, sql: dict) -> dict:
    figures = asyncio.run(measured(server, users[:n], plan.per_session(n)))
    return progress({"server": server.kind, "workers": 1, "sessions": n, **figures, **sql})


def progress(row: dict[str, Any]) -> dict[str, Any]:
    """Each run's figures as they come (a full run takes minutes)."""
    print("  " + ", ".join(f"{k} {cell(v)}" for k, v in row.items()), file=sys.stderr, flush=True)
    return row


def turn_costs(scratch: Scratch, plan: Plan, baseline: Path | None = None) -> dict[str, Any]:
    """Sections 1 and 2: rows per server and session count, the ratios, the scale-out.
    `baseline`: another checkout's dealagent, timed too (before/after in one run)."""
    # Each server its own users: the floor stores each message too, and a conversation
    # another server left behind would be dealagent's history window.
    count = max(plan.sessions) + 1
    rows = []
    for kind in SERVERS:
        rows += server_rows(scratch, kind, make_users(scratch, count), plan)
    if baseline is not None:
        users = make_users(scratch, count)
        rows += server_rows(scratch, BASELINE, users, plan, baseline.resolve())
    for n in plan.sessions:
        with running(DEALAGENT, scratch, workers=2) as server:
            users = make_users(scratch, n)
            figures = asyncio.run(measured(server, users, plan.per_session(n)))
        rows.append(progress({"server": DEALAGENT, "workers": 2, "sessions": n, **figures}))
    return {"rows": rows, "ratios": ratios(rows), "scale_out": scale_out(rows)}


def find(rows: list[dict[str, Any]], server: str, sessions: int, workers: int = 1) -> dict:
    return next(
        r
        for r in rows
        if r["server"] == server and r["sessions"] == sessions and r["workers"] == workers
    )


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """dealagent ÷ each floor (and ÷ the baseline, when timed), per session count."""
    out = []
    for n in sorted({r["sessions"] for r in rows}):
        ours = find(rows, DEALAGENT, n)
        floors = [k for k in (LANGCHAIN, FLOOR, BASELINE) if any(r["server"] == k for r in rows)]
        for floor in floors:
            theirs = find(rows, floor, n)
            out.append(
                {
                    "sessions": n,
                    "against": floor,
                    "cpu_ratio": ours["cpu_ms_per_turn"] / theirs["cpu_ms_per_turn"],
                    "p50_ratio": ours["p50_ms"] / theirs["p50_ms"],
                    "turns_per_s_ratio": ours["turns_per_s"] / theirs["turns_per_s"],
                }
            )
    return out


def scale_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n in sorted({r["sessions"] for r in rows}):
        one, two = find(rows, DEALAGENT, n), find(rows, DEALAGENT, n, workers=2)
        out.append({"sessions": n, "speedup": two["turns_per_s"] / one["turns_per_s"]})
    return out


def connections(scratch: Scratch, plan: Plan) -> dict[str, Any]:
    """Section 3: idle authenticated sockets on dealagent: RSS per socket, and the ping
    round trip of some of them while a turn run (the first session count) goes on."""
    sessions = plan.sessions[0]
    idle_users = make_users(scratch, max(1, plan.idle_sockets // 10))
    busy_users = make_users(scratch, sessions)
    with running(DEALAGENT, scratch) as server:
        asyncio.run(measured(server, busy_users, 1))  # warm, as in the turn runs
        before = server.rss_bytes()
        with IdleSockets(server, idle_users, plan.idle_sockets) as idle:
            after = server.rss_bytes()
            idle.start_pinging()
            figures = asyncio.run(measured(server, busy_users, plan.per_session(sessions)))
            pings = idle.stop_pinging()
    return {
        "idle_sockets": plan.idle_sockets,
        "rss_per_socket_kib": (after - before) / plan.idle_sockets / 1024,
        "ping_p50_ms": percentile(pings, 0.50) if pings else None,
        "ping_p99_ms": percentile(pings, 0.99) if pings else None,
        "pings": len(pings),
        "turn_p50_ms_meanwhile": figures["p50_ms"],
        "mean_ping_ms": statistics.mean(pings) if pings else None,
    }
