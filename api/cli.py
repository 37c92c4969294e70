"""The `dealagent` command: serve, and the database chores."""

import argparse
import logging

import uvicorn

from api import cli_accounts, cli_eval
from converse import cli as converse_cli
from core import migrate
from core.config import get_settings
from core.database import run_with_engine, seed
from core.embedded_db import database_url


def serve(args: argparse.Namespace) -> None:
    settings = get_settings()
    if args.workers > 1:
        from api.workers import serve_workers

        serve_workers(settings, args.host, args.port, args.workers)
        return
    from api.main import create_app
    from api.ws_protocol import uvicorn_ws_options

    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="info",
        **uvicorn_ws_options(settings),
    )


def worker(args: argparse.Namespace) -> None:
    import asyncio

    from monitor.runner import run_worker

    settings = get_settings()
    with database_url(settings, supervise=True) as url:
        asyncio.run(run_worker(settings, url, args.concurrency, signals=True))


def sandbox(args: argparse.Namespace) -> None:
    from markets.sandbox.app import create_sandbox_app
    from markets.sandbox.credentials import sandbox_settings

    app = create_sandbox_app(sandbox_settings(get_settings()))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


def bench(args: argparse.Namespace) -> None:
    """`python -m bench` in the source checkout this package runs from (bench/ uses tests/
    helpers and reference servers that are not installed)."""
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    if not (root / "bench" / "__main__.py").exists():
        raise SystemExit(f"dealagent bench needs a source checkout; none at {root}")
    os.chdir(root)
    os.execv(sys.executable, [sys.executable, "-m", "bench", *args.options])


def db_upgrade(args: argparse.Namespace) -> None:
    with database_url(get_settings()) as url:
        migrate.upgrade(url, args.revision)


def db_downgrade(args: argparse.Namespace) -> None:
    with database_url(get_settings()) as url:
        migrate.downgrade(url, args.revision)


def db_seed(args: argparse.Namespace) -> None:
    settings = get_settings()
    with database_url(settings) as url:
        run_with_engine(settings, url, seed)


def positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="dealagent", description=__doc__)
    commands = root.add_subparsers(required=True, metavar="COMMAND")

    p = commands.add_parser("serve", help="run the HTTP and WebSocket service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=positive,
        default=1,
        help="server processes sharing the port (default 1); more use more of the CPUs",
    )
    p.set_defaults(run=serve)

    p = commands.add_parser("worker", help="run a monitor worker: goal checks and deliveries")
    p.add_argument(
        "--concurrency",
        type=positive,
        default=get_settings().monitor_concurrency,
        help="checks run at once (default MONITOR_CONCURRENCY, 4)",
    )
    p.set_defaults(run=worker)

    p = commands.add_parser("sandbox", help="run the sandbox marketplace alone")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.set_defaults(run=sandbox)

    p = commands.add_parser("bench", help="run the benchmarks (python -m bench)", add_help=False)
    p.add_argument("options", nargs=argparse.REMAINDER, help="passed to python -m bench")
    p.set_defaults(run=bench)

    db = commands.add_parser("db", help="database schema and reference data")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    p = db_commands.add_parser("upgrade", help="apply migrations (default: to head)")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(run=db_upgrade)
    p = db_commands.add_parser("downgrade", help="revert migrations (default: all of them)")
    p.add_argument("revision", nargs="?", default="base")
    p.set_defaults(run=db_downgrade)
    p = db_commands.add_parser("seed", help="write default token prices and markets")
    p.set_defaults(run=db_seed)

    cli_accounts.add_commands(commands)
    converse_cli.add_command(commands)
    cli_eval.add_command(commands)
    return root


def main(argv: list[str] | None = None) -> None:
    root = parser()
    args, unknown = root.parse_known_args(argv)
    if args.run is bench:  # its options are the bench's own
        args.options = [*unknown, *args.options]
    elif unknown:
        root.error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(level=get_settings().log_level.upper())
    args.run(args)


if __name__ == "__main__":
    main()
