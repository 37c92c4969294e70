"""`dealagent converse SCRIPT…`: run conversation scripts against a running server."""

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from converse.located_yaml import ScriptError
from converse.report import junit, printer, summary
from converse.runner import Login, ScriptResult, run_script
from converse.script import Script, load_script

BAD_SCRIPT = 2  # like argparse's usage errors: nothing ran


def add_command(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "converse",
        help="run conversation scripts (YAML) against a running server",
        description="Every script is checked before any turn runs. Exit status: 0 all passed, "
        "1 a turn failed or a script could not start, 2 a script was refused.",
    )
    p.add_argument("scripts", nargs="+", type=Path, metavar="SCRIPT")
    p.add_argument(
        "--url", default="http://127.0.0.1:8000", help="the server (default %(default)s)"
    )
    who = p.add_mutually_exclusive_group()
    who.add_argument("--token", help="an access token; default: a throwaway user per script")
    who.add_argument("--email", help="log in as this user (with --password)")
    p.add_argument("--password", help="the --email user's password")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    p.add_argument(
        "--turn-timeout",
        type=float,
        default=60,
        metavar="S",
        help="longest wait for the server's next frame in a turn (default %(default)s s)",
    )
    p.set_defaults(run=converse)


def converse(args: argparse.Namespace) -> None:
    if (args.email is None) != (args.password is None):
        print("dealagent converse: --email and --password go together", file=sys.stderr)
        sys.exit(BAD_SCRIPT)
    try:
        scripts = [load_script(path) for path in args.scripts]
    except ScriptError as error:
        print(f"refused, no turn was run: {error}", file=sys.stderr)
        sys.exit(BAD_SCRIPT)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request hides the report
    login = Login(args.token, args.email, args.password)
    results = asyncio.run(run_all(scripts, args.url.rstrip("/"), login, args.turn_timeout))
    print(summary(results), flush=True)
    if args.junit:
        junit(results, args.junit)
    sys.exit(0 if all(r.passed for r in results) else 1)


async def run_all(
    scripts: list[Script], base_url: str, login: Login, turn_timeout_s: float
) -> list[ScriptResult]:
    show = printer(lambda line: print(line, flush=True))
    results = []
    for script in scripts:
        print(f"{script.file}  ({script.name})", flush=True)
        result = await run_script(
            base_url, script, login, turn_timeout_s=turn_timeout_s, on_turn=show
        )
        if result.error:
            print(f"  ERROR  {result.error}", flush=True)
        results.append(result)
    return results
