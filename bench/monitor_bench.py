"""The monitor under load: active goals across users, every one due at once, checked by
`dealagent worker` processes against the sandbox marketplace (a `dealagent sandbox`
child). For 1 worker and then 2: checks per second, the queue's lag (a check job
deferred -> started) p50/p99, the database connections held, and where the CPU went.

Each run gets a fresh database on the bench's PostgreSQL, seeded alike (same goals, none
checked yet), so the runs compare side by side. The queue deletes finished jobs (and their
events) at once, so a trigger in the scratch database copies procrastinate's events into a
table of the bench.
"""

import contextlib
import os
import random
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
import psycopg

from bench.scratch import Scratch
from bench.search_bench import start_sandbox
from core import migrate
from core.config import Settings
from core.database import run_with_engine, seed
from core.db import libpq_url
from core.embedded_db import drop_database, ensure_database
from markets.sandbox.catalog import default_catalog
from monitor.queue import CHECK_TASK, SCHEDULE_TASK
from tests.monitor_support import child_env, start, stop

LONG_S = str(7 * 86400)  # every interval: each goal's first check only, in a run
PRIORITIES = ("high",) * 2 + ("medium",) * 5 + ("low",) * 3
SAMPLE_S = 0.1  # connections and CPU
PROGRESS_S = 1.0  # goals checked (a count over all goals)
MEASURED = ("workers", "sandbox", "postgres", "bench")  # "other": the rest of the machine

# procrastinate deletes a successful job, and by cascade its events, without an event
# of its own for the end: keep a copy of the events, and the deletion as 'finished'.
MIRROR_EVENTS = """
CREATE TABLE bench_job_events (job_id bigint, task_name text, type text, at timestamptz);
CREATE FUNCTION bench_keep_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.bench_job_events
    SELECT NEW.job_id, j.task_name, NEW.type::text, NEW.at
    FROM procrastinate.procrastinate_jobs j WHERE j.id = NEW.job_id;
    RETURN NULL;
END $$;
CREATE TRIGGER bench_keep_event AFTER INSERT ON procrastinate.procrastinate_events
FOR EACH ROW EXECUTE FUNCTION bench_keep_event();
CREATE FUNCTION bench_keep_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.bench_job_events VALUES (OLD.id, OLD.task_name, 'finished', now());
    RETURN NULL;
END $$;
CREATE TRIGGER bench_keep_end AFTER DELETE ON procrastinate.procrastinate_jobs
FOR EACH ROW EXECUTE FUNCTION bench_keep_end();
"""
USERS = """
INSERT INTO users (email, password, token_balance)
SELECT 'bench-' || i || '@example.com', 'x', 1000 FROM generate_series(1, %s) i
RETURNING id
"""
GOALS = """
INSERT INTO goals (user_id, title, category, priority, max_budget, target_price)
SELECT u, t, c::marketcategory, p::goalpriority, b, tp
FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::numeric[], %s::numeric[])
     AS g(u, t, c, p, b, tp)
"""
COUNT_GOALS = """
UPDATE users u SET active_goals_count = n
FROM (SELECT user_id, count(*) AS n FROM goals GROUP BY user_id) g WHERE g.user_id = u.id
"""
BACKENDS = """
SELECT pid, state, wait_event_type FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend'
  AND pid <> pg_backend_pid()
"""
PROGRESS = """
SELECT count(*) FILTER (WHERE last_checked_at IS NOT NULL OR status <> 'active'),
       (SELECT count(*) FROM procrastinate.procrastinate_jobs
        WHERE task_name = %s AND status = 'todo'),
       (SELECT count(*) FROM procrastinate.procrastinate_jobs
        WHERE task_name = %s AND status = 'doing')
FROM goals
"""
# From one event of a job to another, over the jobs of a task: count, p50/p99, max (ms).
SPAN_MS = """
SELECT count(*), percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY ms), max(ms)
FROM (SELECT extract(epoch FROM b.at - a.at) * 1000 AS ms
      FROM bench_job_events a JOIN bench_job_events b USING (job_id)
      WHERE a.task_name = %s AND a.type = %s AND b.type = %s) span
"""
# The checks' window on the database's clock: the first check started, the last stored.
WINDOW = """
SELECT (SELECT min(at) FROM bench_job_events WHERE task_name = %s AND type = 'started'),
       (SELECT max(last_checked_at) FROM goals),
       (SELECT max(at) - min(at) FROM bench_job_events WHERE task_name = %s AND type = 'deferred')
"""
OUTCOMES = """
SELECT (SELECT count(*) FROM token_transactions WHERE goal_id IS NOT NULL),
       (SELECT count(*) FROM deals),
       (SELECT count(*) FROM price_tracking),
       (SELECT count(*) FROM goals WHERE (meta_data->'monitor'->>'failures')::int > 0),
       (SELECT count(*) FROM goals WHERE status <> 'active')
"""
# Why checks failed: the first part of each goal's last error (one market's, or ours).
FAILURES = """
SELECT split_part(meta_data->'monitor'->>'last_error', ';', 1) AS why, count(*)
FROM goals WHERE (meta_data->'monitor'->>'failures')::int > 0
GROUP BY why ORDER BY count(*) DESC LIMIT 3
"""


def cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def busy_s() -> float:
    """The machine's busy CPU seconds so far, every core."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)


@dataclass
class CpuMeter:
    """CPU seconds of named processes and of the scratch database's backends (a backend is
    read while it lives; one that closes keeps its last reading)."""

    procs: dict[str, list[psutil.Process]]
    backends: dict[int, tuple[psutil.Process, float]] = field(default_factory=dict)
    base: dict[str, float] = field(default_factory=dict)
    marked: float = 0.0

    def watch_backends(self, pids: list[int]) -> None:
        for pid in pids:
            try:
                proc = self.backends[pid][0] if pid in self.backends else psutil.Process(pid)
                self.backends[pid] = (proc, cpu_s(proc))
            except psutil.Error:
                pass  # gone, or not ours to read (a server on another machine)

    def totals(self) -> dict[str, float]:
        totals = {}
        for name, procs in self.procs.items():
            total = 0.0
            for proc in procs:
                with contextlib.suppress(psutil.Error):  # exited
                    total += cpu_s(proc)
            totals[name] = total
        totals["postgres"] = sum(cpu for _, cpu in self.backends.values())
        totals["machine"] = busy_s()
        return totals

    def mark(self) -> None:
        self.base, self.marked = self.totals(), time.monotonic()

    def since_mark(self) -> dict[str, float]:
        """CPU seconds since the mark, and under "elapsed" the wall seconds."""
        spent = {k: v - self.base.get(k, 0.0) for k, v in self.totals().items()}
        other = spent["machine"] - sum(spent[name] for name in MEASURED)
        return {**spent, "other": other, "elapsed": time.monotonic() - self.marked}


@dataclass(frozen=True)
class Span:
    """From one event of a task's jobs to another: how many jobs, p50, p99, max (ms)."""

    count: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, conn: psycopg.Connection, task: str, since: str, until: str) -> "Span":
        count, quantiles, longest = conn.execute(SPAN_MS, (task, since, until)).fetchone()
        p50, p99 = quantiles or (0.0, 0.0)
        return cls(count, p50, p99, float(longest or 0))


@dataclass
class Peaks:
    """The highest of each sample: connections held by the scratch database's clients, of
    them those not idle and those waiting on a lock; check jobs waiting in the queue."""

    connections: int = 0
    busy: int = 0
    waiting: int = 0
    todo: int = 0

    def sample(self, backends: list[tuple[int, str, str | None]]) -> None:
        self.connections = max(self.connections, len(backends))
        self.busy = max(self.busy, sum(state != "idle" for _, state, _ in backends))
        self.waiting = max(self.waiting, sum(wait == "Lock" for _, _, wait in backends))


@dataclass
class Run:
    workers: int
    goals: int
    load: tuple[float, float, float]  # before the run
    wall_s: float  # worker processes started -> every goal checked
    window_s: float  # first check started -> last check stored (database clock)
    queued_s: float  # first check deferred -> last check deferred
    lag: Span  # check jobs: deferred -> started
    check: Span  # check jobs: started -> finished
    tick: Span  # schedule_checks jobs: started -> finished
    peaks: Peaks
    cpu: dict[str, float]
    outcomes: tuple[int, ...]
    failures: list[tuple[str, int]]

    @property
    def rate(self) -> float:
        return self.goals / self.window_s if self.window_s else 0.0

    def cpu_share(self, name: str) -> float:
        """Of every core's time while the checks ran."""
        return self.cpu[name] / (self.cpu["elapsed"] * (os.cpu_count() or 1))


def goal_rows(users: list[uuid.UUID], count: int) -> tuple[list[Any], ...]:
    """Goals for the sandbox catalog's products (brand and noun, or the noun alone, in the
    product's category); most with a budget around its list price, some with a target."""
    rng = random.Random(8)
    products = default_catalog().products
    rows = []
    for i in range(count):
        p = rng.choice(products)
        title = f"{p.brand} {p.noun}" if rng.random() < 0.5 else p.noun
        budget = (p.list_price * Decimal(rng.uniform(0.9, 1.6))).quantize(Decimal(1))
        target = (budget * Decimal(rng.uniform(0.6, 0.9))).quantize(Decimal(1))
        has_budget, has_target = rng.random() < 0.8, rng.random() < 0.4
        rows.append(
            (
                users[i % len(users)],
                title,
                p.category.value,
                rng.choice(PRIORITIES),
                budget if has_budget else None,
                target if has_budget and has_target else None,
            )
        )
    return tuple(list(column) for column in zip(*rows, strict=True))


def seed_database(url: str, users: int, goals: int) -> None:
    run_with_engine(Settings(database_url=url, _env_file=None), url, seed)
    with psycopg.connect(libpq_url(url)) as conn:
        user_ids = [row[0] for row in conn.execute(USERS, (users,))]
        conn.execute(GOALS, goal_rows(user_ids, goals))
        conn.execute(COUNT_GOALS)
        conn.execute(MIRROR_EVENTS)


def worker_env(url: str, sandbox_url: str, home: str) -> dict[str, str]:
    return child_env(
        url,
        sandbox_url,
        DEALAGENT_HOME=home,  # the sandbox's Walmart key is under it
        MONITOR_TICK_S="1",
        MONITOR_INTERVAL_HIGH_S=LONG_S,
        MONITOR_INTERVAL_MEDIUM_S=LONG_S,
        MONITOR_INTERVAL_LOW_S=LONG_S,
        MONITOR_STALLED_S="30",
        LOG_LEVEL="WARNING",
    )


def watch(
    conn: psycopg.Connection,
    procs: list[subprocess.Popen],
    logs: list[Path],
    meter: CpuMeter,
    args: Any,
) -> Peaks:
    """Sample until every goal is checked; the CPU meter is marked at the first check."""
    began, peaks, started = time.monotonic(), Peaks(), False
    done, next_progress = 0, 0.0
    while done < args.goals:
        backends = conn.execute(BACKENDS).fetchall()
        meter.watch_backends([pid for pid, _, _ in backends])
        peaks.sample(backends)
        now = time.monotonic()
        if now >= next_progress:
            done, todo, doing = conn.execute(PROGRESS, (CHECK_TASK,) * 2).fetchone()
            peaks.todo = max(peaks.todo, todo)
            next_progress = now + PROGRESS_S
            if not started and (done or doing):
                meter.mark()  # the workers are up and checking: CPU from here
                started = True
        if now - began > args.timeout:
            raise SystemExit(f"{done} of {args.goals} goals checked after {args.timeout} s")
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise SystemExit(f"a worker exited; its log ends:\n{log.read_text()[-3000:]}")
        time.sleep(SAMPLE_S)
    return peaks


def measure(
    url: str, sandbox_url: str, sandbox: psutil.Process, home: str, args: Any, n: int
) -> Run:
    """`n` worker processes check every goal once; what it took."""
    load = os.getloadavg()
    command = ["worker", "--concurrency", str(args.concurrency)]
    env = worker_env(url, sandbox_url, home)
    began = time.monotonic()
    logs = [Path(home) / f"worker-{n}-{i}.log" for i in range(n)]
    procs = [start(command, env, str(log)) for log in logs]
    workers = [psutil.Process(p.pid) for p in procs]
    meter = CpuMeter({"workers": workers, "sandbox": [sandbox], "bench": [psutil.Process()]})
    meter.mark()
    try:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            peaks = watch(conn, procs, logs, meter, args)
            wall, cpu = time.monotonic() - began, meter.since_mark()
            first, last, queued = conn.execute(WINDOW, (CHECK_TASK,) * 2).fetchone()
            return Run(
                workers=n,
                goals=args.goals,
                load=load,
                wall_s=wall,
                window_s=(last - first).total_seconds(),
                queued_s=queued.total_seconds(),
                lag=Span.of(conn, CHECK_TASK, "deferred", "started"),
                check=Span.of(conn, CHECK_TASK, "started", "finished"),
                tick=Span.of(conn, SCHEDULE_TASK, "started", "finished"),
                peaks=peaks,
                cpu=cpu,
                outcomes=tuple(conn.execute(OUTCOMES).fetchone()),
                failures=[(why, n) for why, n in conn.execute(FAILURES)],
            )
    finally:
        for p in procs:
            stop(p)


def report(runs: list[Run], args: Any) -> None:
    cores = os.cpu_count() or 1
    print(
        f"\n{args.goals} active goals across {args.users} users, all due at once; "
        f"`dealagent worker --concurrency {args.concurrency}`, MONITOR_TICK_S=1; {cores} cores"
    )
    rows: list[tuple[str, ...]] = [
        ("", *(f"{r.workers} worker{'s' * (r.workers > 1)}" for r in runs)),
        ("load average before (1/5/15 min)", *("/".join(f"{x:.1f}" for x in r.load) for r in runs)),
        ("wall: workers started -> all checked", *(f"{r.wall_s:.1f} s" for r in runs)),
        ("first check started -> last stored", *(f"{r.window_s:.1f} s" for r in runs)),
        ("checks per second", *(f"{r.rate:.1f}" for r in runs)),
        ("check jobs run (one per goal)", *(str(r.lag.count) for r in runs)),
        (
            "a check, started -> done p50/p99",
            *(f"{r.check.p50:.0f}/{r.check.p99:.0f} ms" for r in runs),
        ),
        ("every check queued within", *(f"{r.queued_s:.1f} s" for r in runs)),
        (
            "scheduler ticks run, p50/max",
            *(f"{r.tick.count}, {r.tick.p50:.0f}/{r.tick.max:.0f} ms" for r in runs),
        ),
        ("peak check jobs waiting", *(str(r.peaks.todo) for r in runs)),
        ("queue lag deferred->started p50", *(f"{r.lag.p50:.0f} ms" for r in runs)),
        ("queue lag p99", *(f"{r.lag.p99:.0f} ms" for r in runs)),
        ("peak DB connections held", *(str(r.peaks.connections) for r in runs)),
        (
            "  at once not idle / waiting on a lock",
            *(f"{r.peaks.busy} / {r.peaks.waiting}" for r in runs),
        ),
    ]
    for name in (*MEASURED, "other"):
        rows.append(
            (
                f"CPU {name}: per check, share of {cores} cores",
                *(f"{1000 * r.cpu[name] / r.goals:.1f} ms, {r.cpu_share(name):.0%}" for r in runs),
            )
        )
    rows.append(
        (
            "charges, deals, price rows, goals with a failed check, goals not active",
            *(", ".join(map(str, r.outcomes)) for r in runs),
        )
    )
    width = max(len(row[0]) for row in rows)
    for row in rows:
        print(f"  {row[0]:<{width}}  " + "  ".join(f"{cell:>22}" for cell in row[1:]))
    for r in runs:
        for why, n in r.failures:
            print(f"  {r.workers} worker(s), {n} goals' last failed check: {why[:120]}")
    if len(runs) == 2 and runs[0].rate:
        print(f"  2 workers / 1 worker: {runs[1].rate / runs[0].rate:.2f}x checks per second")


@dataclass(frozen=True)
class MonitorPlan:
    users: int
    goals: int
    workers: tuple[int, ...] = (1, 2)  # worker processes of each run
    concurrency: int = 4
    timeout: float = 1800  # bound on one run (s)


def monitor_section(scratch: Scratch, quick: bool) -> dict[str, Any]:
    """Each worker count on a fresh database seeded alike; the detailed table printed."""
    plan = MonitorPlan(10, 50, (1,)) if quick else MonitorPlan(1000, 10000)
    home = str(scratch.home / "monitor")
    Path(home).mkdir(exist_ok=True)
    sandbox_url, sandbox_proc = start_sandbox(home)
    runs = []
    try:
        for n in plan.workers:
            name = f"dealagent_bench_{uuid.uuid4().hex[:8]}"
            url = ensure_database(scratch.server_url, name)
            try:
                migrate.upgrade(url)
                seed_database(url, plan.users, plan.goals)
                sandbox = psutil.Process(sandbox_proc.pid)
                runs.append(measure(url, sandbox_url, sandbox, home, plan, n))
            finally:
                drop_database(scratch.server_url, name)
    finally:
        sandbox_proc.terminate()
        sandbox_proc.wait()
    report(runs, plan)
    return {
        "goals": plan.goals,
        "users": plan.users,
        "rows": [
            {
                "workers": r.workers,
                "checks_per_s": r.rate,
                "lag_p50_ms": r.lag.p50,
                "lag_p99_ms": r.lag.p99,
                "check_p50_ms": r.check.p50,
                "peak_connections": r.peaks.connections,
                "worker_cpu_ms_per_check": 1000 * r.cpu["workers"] / r.goals,
            }
            for r in runs
        ],
    }
