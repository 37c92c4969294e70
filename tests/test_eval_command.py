"""`dealagent eval` as operators run it (a subprocess on a database of this module's own):
the offline model and an OpenAI-compatible provider (the local fake, so the real client
code runs) scored on small suites, rows stored, `--compare` side by side; bad input refused."""

import asyncio
import hashlib
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.cli import main
from core.config import get_settings
from core.models import ModelMetrics, User
from tests.fake_openai import Text, ToolCalls, fake_openai

pytestmark = pytest.mark.once  # the eval command: which PostgreSQL serves makes no difference

OFFLINE_SUITE = """\
cases:
  - {id: balance, say: "What's my balance?", expect: [get_balance]}
  - id: vacuum
    say: "Watch for a robot vacuum under $300"
    expect: [{create_goal: {max_budget: 300}}]
"""
PROVIDER_SUITE = """\
cases:
  - {id: balance, say: "What's my balance?", expect: [get_balance]}
  - {id: hello, say: "hello there", expect: []}
  - {id: tv, say: "Watch for a 4K TV under $500", expect: [{create_goal: {max_budget: 500}}]}
"""


def run_eval(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_"))}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "eval", *args],
        # No suite here searches the markets: no sandbox catalog to build.
        env={**inherited, "DATABASE_URL": database_url, "SANDBOX_MARKETS": "off", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


async def stored(sessions) -> list[ModelMetrics]:
    async with sessions() as session:
        return list(await session.scalars(select(ModelMetrics).order_by(ModelMetrics.created_at)))


async def test_the_offline_model_and_a_provider_scored_stored_and_compared(
    module_db, tmp_path, monkeypatch, capsys
):
    offline_suite = suite(tmp_path, OFFLINE_SUITE)
    run = run_eval(module_db.url, str(offline_suite))
    assert run.returncode == 0, run.stdout + run.stderr
    (offline,) = await stored(module_db.sessions)
    assert run.stdout.rstrip().endswith(f"stored: model_metrics {offline.id}")
    assert "turns 2: tool accuracy 1.000" in run.stdout
    assert (offline.model_name, offline.accuracy, offline.f1_score) == ("dealagent-offline", 1, 1)
    assert (offline.training_samples, offline.validation_samples) == (0, 2)
    assert offline.hyperparameters["provider"] == "offline"
    assert offline.feature_importance == {"create_goal": 1.0, "get_balance": 1.0}
    assert offline.meta_data["suite"] == {
        "file": "suite.yaml",
        "sha256": hashlib.sha256(offline_suite.read_bytes()).hexdigest(),
        "cases": 2,
    }
    assert offline.meta_data["latency_ms"]["p95"] >= offline.meta_data["latency_ms"]["p50"] > 0
    assert offline.meta_data["tokens_per_turn"] > 0

    with fake_openai() as fake:
        fake.play(
            ToolCalls([("get_balance", "{}")]),
            Text("You have 1000 tokens."),
            Text("Hello! What are you looking for?"),
            Text("Sure, I will."),  # no create_goal: a miss
        )
        provider = {"OPENAI_API_KEY": "sk-local", "OPENAI_BASE_URL": fake.base_url}
        run = run_eval(
            module_db.url, str(suite(tmp_path, PROVIDER_SUITE)), "--model", "local-7b", **provider
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert {r["model"] for r in fake.requests} == {"local-7b"}
    scored = (await stored(module_db.sessions))[-1]
    assert (scored.model_name, scored.validation_samples) == ("local-7b", 3)
    assert scored.accuracy == Decimal("0.6667")
    assert scored.feature_importance["create_goal"] == 0.0
    assert scored.hyperparameters["base_url"] == fake.base_url
    assert "sk-local" not in str(scored.hyperparameters)
    assert (
        "miss tv: 'Watch for a 4K TV under $500' expected ['create_goal'] made ['none']"
        in run.stdout
    )

    # --compare, in this process (no interpreter to start)
    monkeypatch.setenv("DATABASE_URL", module_db.url)
    get_settings.cache_clear()
    try:
        await asyncio.to_thread(main, ["eval", "--compare"])
    finally:
        get_settings.cache_clear()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["dealagent-offline", "local-7b"]  # best F1 first
    assert [line.split()[-2:] for line in lines if line.startswith("tool accuracy")] == [
        ["1.0000", "0.6667"]
    ]
    async with module_db.sessions() as session:  # the throwaway users are gone
        left = await session.scalar(select(func.count()).where(User.email.like("eval-%")))
    assert left == 0


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--model", "gpt-x"], "--model names a provider's model: set OPENAI_API_KEY"),
        (["/nonexistent/suite.yaml"], "cannot read the suite /nonexistent/suite.yaml"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(monkeypatch, args, problem):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as refused:
            main(["eval", *args])
    finally:
        get_settings.cache_clear()
    assert problem in str(refused.value.code)
