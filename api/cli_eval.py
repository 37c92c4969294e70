"""`dealagent eval [SUITE] [--model NAME] [--compare]`: score the configured chat model on a
labeled suite, print the figures and store them (model_metrics); or compare stored ones."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from api.cli_accounts import fail, in_one_transaction
from core import model_metrics
from core.config import get_settings
from core.embedded_db import database_url
from core.models import ModelMetrics
from markets.sandbox.embedded import SandboxPortInUse

# The rows of the printed table: a label and how to read it from a stored row.
FIGURES: list[tuple[str, Callable[[ModelMetrics], Any]]] = [
    ("version", lambda r: r.model_version),
    ("evaluated (UTC)", lambda r: r.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
    ("turns", lambda r: r.validation_samples),
    ("tool accuracy", lambda r: r.accuracy),
    ("precision (macro)", lambda r: r.precision),
    ("recall (macro)", lambda r: r.recall),
    ("F1 (macro)", lambda r: r.f1_score),
    ("argument accuracy", lambda r: f"{r.meta_data.get('argument_accuracy', 0):.4f}"),
    ("latency p50 (ms)", lambda r: r.meta_data.get("latency_ms", {}).get("p50")),
    ("latency p95 (ms)", lambda r: r.meta_data.get("latency_ms", {}).get("p95")),
    ("tokens per turn", lambda r: r.meta_data.get("tokens_per_turn")),
    ("run (s)", lambda r: r.training_duration),
]


def add_command(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "eval",
        help="score the chat model on a labeled suite and store the figures (model_metrics)",
        description="Plays the suite through the real turn path, for throwaway users, on the "
        "configured database and model (OPENAI_API_KEY, OPENAI_BASE_URL, LLM_MODEL; unset: "
        "the offline model).",
    )
    p.add_argument(
        "suite", nargs="?", type=Path, help="a labeled suite (YAML); default: the project's own"
    )
    p.add_argument("--model", help="the provider's model to score (instead of LLM_MODEL)")
    p.add_argument(
        "--compare",
        action="store_true",
        help="run nothing: print the latest stored evaluation of each model side by side",
    )
    p.set_defaults(run=evaluate)


def table(rows: list[ModelMetrics]) -> str:
    """The rows side by side, one column each, and per-tool F1 below."""
    head = [""] + [r.model_name for r in rows]
    body = [[label] + [str(read(r)) for r in rows] for label, read in FIGURES]
    tools = sorted({tool for r in rows for tool in r.feature_importance})
    body += [
        [f"F1 {tool}"] + [str(r.feature_importance.get(tool, "-")) for r in rows] for tool in tools
    ]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [head, *body]
    )


def evaluate(args: argparse.Namespace) -> None:
    if args.compare:
        rows = in_one_transaction(model_metrics.latest_per_model)
        print(table(rows) if rows else "no stored evaluations yet: run `dealagent eval`")
        return
    settings = get_settings()
    if args.model:
        if not settings.openai_api_key:
            fail("--model names a provider's model: set OPENAI_API_KEY (and OPENAI_BASE_URL)")
        settings = settings.model_copy(update={"llm_model": args.model})
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger().setLevel(logging.WARNING)  # the report is the output
    from agent.evaluation import SUITE, load_suite  # the agent stack loads only for a run
    from agent.model_eval import evaluate as run

    try:
        cases = load_suite(args.suite)
    except (OSError, ValueError, KeyError, TypeError) as error:
        fail(f"cannot read the suite {args.suite or SUITE}: {error}")
    if not cases:
        fail("the suite has no cases")

    def progress(outcome: Any) -> None:
        print("." if not outcome.error else "E", end="", flush=True, file=sys.stderr)

    with database_url(settings) as url:
        try:
            scores, row = asyncio.run(run(settings, url, cases, args.suite, progress))
        except SandboxPortInUse as error:
            fail(str(error))
    print(file=sys.stderr)
    print(scores.report())
    print()
    print(table([row]))
    print(f"\nstored: model_metrics {row.id}")
