"""Every benchmark in one run: prints a table per section and writes the figures as JSON.

    python -m bench [--quick] [--only turns,ledger] [--skip monitor] [--json PATH]
                    [--baseline OTHER_CHECKOUT]
    dealagent bench …              (the same, from a source checkout)

Sections: turns (the bare floor, the bare LangChain server and dealagent side by side,
then `serve --workers 2`), connections (idle sockets), search (fan-out), deals (queries
at scale), ledger (deductions per second), monitor (checks per second, queue lag), pages
(reading saved product pages beside lxml's parse alone); and,
with --only profile, where dealagent's CPU goes under the first session count (py-spy).
DATABASE_URL picks the PostgreSQL server (scratch databases are made and dropped on it);
unset, a throwaway embedded one is started. --quick runs every section at small sizes
and asserts nothing about speed: it keeps the bench working (CI runs it).
"""

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench import turn_cost
from bench.deal_queries import deals_section
from bench.ledger_throughput import ledger_section
from bench.monitor_bench import monitor_section
from bench.page_bench import pages_section
from bench.report import print_section
from bench.scratch import Scratch, scratch_database
from bench.search_bench import search_section

Section = Callable[[Scratch, argparse.Namespace], dict[str, Any]]


def plan(options: argparse.Namespace) -> turn_cost.Plan:
    return turn_cost.QUICK if options.quick else turn_cost.FULL


SECTIONS: dict[str, Section] = {
    "turns": lambda s, o: turn_cost.turn_costs(s, plan(o), o.baseline),
    "connections": lambda s, o: turn_cost.connections(s, plan(o)),
    "search": lambda s, o: search_section(s, o.quick),
    "deals": lambda s, o: deals_section(s, o.quick),
    "ledger": lambda s, o: ledger_section(s, o.quick),
    "monitor": lambda s, o: monitor_section(s, o.quick),
    "pages": lambda s, o: pages_section(o.quick),
    "profile": lambda s, o: turn_cost.profile(s, plan(o)),  # only when asked for
}
ON_REQUEST = {"profile"}


def machine(scratch: Scratch) -> dict[str, Any]:
    with psycopg.connect(scratch.libpq) as conn:
        server = conn.execute("SHOW server_version").fetchone()
    return {
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "postgresql": server[0] if server else "?",
        "postgresql_embedded": scratch.embedded,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def chosen(args: argparse.Namespace) -> list[str]:
    names = args.only.split(",") if args.only else [n for n in SECTIONS if n not in ON_REQUEST]
    skipped = set(args.skip.split(",")) if args.skip else set()
    unknown = (set(names) | skipped) - SECTIONS.keys()
    if unknown:
        known = ", ".join(SECTIONS)
        raise SystemExit(f"no such section: {', '.join(sorted(unknown))} (of {known})")
    return [n for n in names if n not in skipped]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, nothing asserted")
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--skip", help="comma-separated sections to leave out")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"), help="output")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another dealagent checkout (say main's) timed beside this one in the turns section",
    )
    args = parser.parse_args(argv)
    names = chosen(args)
    results: dict[str, Any] = {"quick": args.quick, "sections": {}}
    with scratch_database() as scratch:
        results["machine"] = machine(scratch)
        print(f"machine: {json.dumps(results['machine'])}", flush=True)
        for name in names:
            began = time.monotonic()
            figures = SECTIONS[name](scratch, args)
            figures["took_s"] = round(time.monotonic() - began, 1)
            results["sections"][name] = figures
            print_section(name, figures)
            results["machine"]["load_average_after"] = os.getloadavg()
            # After each section: a later one failing loses nothing measured.
            args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"figures written to {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
