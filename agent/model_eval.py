"""One evaluation run of the configured chat model: the labeled suite played through the
real turn path (agent.evaluation), scored, and stored as a model_metrics row."""

import hashlib
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from agent.evaluation import SUITE, Case, Scores, TurnOutcome, run_suite, score
from agent.model import chat_model, model_name
from core import model_metrics
from core.config import Settings
from core.database import prepare_database
from core.db import create_engine, session_factory
from core.model_metrics import Evaluation
from core.models import ModelMetrics
from markets.sandbox.embedded import prepare_markets


def hyperparameters(settings: Settings) -> dict[str, Any]:
    """The model settings the suite ran with (never the API key)."""
    common = {
        "agent_max_model_calls": settings.agent_max_model_calls,
        "agent_history_tokens": settings.agent_history_tokens,
    }
    if not settings.openai_api_key:
        return {"provider": "offline", **common}
    return {
        "provider": "openai-compatible",
        "base_url": settings.openai_base_url or "https://api.openai.com/v1",
        "model": settings.llm_model,
        "timeout_s": settings.llm_timeout_s,
        "max_retries": settings.llm_max_retries,
        **common,
    }


def evaluation(
    settings: Settings, scores: Scores, seconds: float, suite: Path, cases: int
) -> Evaluation:
    return Evaluation(
        model_name=model_name(chat_model(settings)),
        # What is measured is the model with this version's prompt and tools.
        model_version=version("dealagent"),
        accuracy=scores.tool_accuracy,
        precision=scores.precision,
        recall=scores.recall,
        f1_score=scores.f1,
        training_duration=round(seconds),
        training_samples=0,  # nothing is trained on the suite
        validation_samples=scores.turns,
        hyperparameters=hyperparameters(settings),
        feature_importance={tool: round(f1, 4) for tool, f1 in sorted(scores.per_tool_f1.items())},
        meta_data={
            "argument_accuracy": round(scores.argument_accuracy, 4),
            "latency_ms": {
                "p50": round(scores.latency_p50_ms, 1),
                "p95": round(scores.latency_p95_ms, 1),
            },
            "tokens_per_turn": round(scores.tokens_per_turn, 1),
            "misses": len(scores.misses),
            "errors": sum(miss.error is not None for miss in scores.misses),
            "suite": {
                "file": suite.name,
                "sha256": hashlib.sha256(suite.read_bytes()).hexdigest(),
                "cases": cases,
            },
        },
    )


async def evaluate(
    settings: Settings,
    url: str,
    cases: list[Case],
    suite: Path | None = None,
    on_turn: Callable[[TurnOutcome], None] | None = None,
) -> tuple[Scores, ModelMetrics]:
    """Play `cases` against the database at `url` (markets as `serve` would search them:
    the sandbox when no credentials are set), score them and store the row."""
    engine = create_engine(settings, url)
    http = httpx.AsyncClient(timeout=settings.market_timeout_s + 1)
    sandbox = None
    try:
        await prepare_database(engine, url)
        sessions = session_factory(engine, settings)
        settings, sandbox = await prepare_markets(settings, sessions)
        started = time.monotonic()
        outcomes = await run_suite(cases, sessions, http, settings, on_turn)
        scores = score(outcomes)
        measured = evaluation(
            settings, scores, time.monotonic() - started, suite or SUITE, len(cases)
        )
        async with sessions() as session, session.begin():
            row = await model_metrics.record(session, measured)
        return scores, row
    finally:
        if sandbox:
            await sandbox.stop()
        await http.aclose()
        await engine.dispose()
