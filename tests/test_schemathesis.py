"""Schemathesis, every check and every phase (stateful too), against `dealagent serve` as a
child process, seeded and bounded: the OpenAPI document must tell the truth about the
server. A longer run is one command (README, "The API contract")."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core import notifications
from core.db import create_engine, session_factory
from core.models import User
from core.models.enums import NotificationType
from tests.factories import make_deal, make_goal
from tests.serve_process import free_port, scratch_home, start_serve, stop_serve, wait_for_health

# The API's contract, not the database server's: CI's first pass is enough.
pytestmark = pytest.mark.once
ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "contract" / "schemathesis.toml"
EMAIL, PASSWORD = "contract@example.com", "a long passphrase 1"
# Bounded for CI; the README's longer run raises them.
MAX_EXAMPLES, SEED = "5", "20261129"


@pytest.fixture(scope="module")
def served(make_database) -> Iterator[tuple[str, str]]:
    """A server of its own, on a database of its own: the fuzzing signs up many users."""
    port = free_port()
    database = make_database()
    env = {
        "DATABASE_URL": database,
        "MONITOR_IN_PROCESS": "false",
        "REGISTER_MAX_PER_CLIENT": "100000",
        "LOGIN_MAX_FAILURES_PER_CLIENT": "100000",
        "WEBHOOK_TIMEOUT_S": "0.5",  # no network here: webhook hosts do not resolve
    }
    with scratch_home() as home:
        proc = start_serve(home, port, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_health(base + "/healthz", proc)
            signup = {"email": EMAIL, "password": PASSWORD}
            httpx.post(base + "/api/v1/auth/register", json=signup).raise_for_status()
            yield base, database
        finally:
            stop_serve(proc, home)


def schemathesis(base: str, log: Path) -> int:
    """`st run` with every check and every phase, seeded and bounded; its output goes to
    `log`, its exit status is returned."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CONTRACT_BASE_URL": base,
        "CONTRACT_EMAIL": EMAIL,
        "CONTRACT_PASSWORD": PASSWORD,
    }
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run"]
    checks = ["--checks=all", "--phases=examples,coverage,fuzzing,stateful"]
    # One worker thread: CPython 3.11 can fail compiling in threads ("AST constructor
    # recursion depth mismatch"), and schemathesis compiles as it goes.
    bounds = [f"--max-examples={MAX_EXAMPLES}", f"--seed={SEED}", "--workers=1"]
    with log.open("w") as out:
        command = [*command, base + "/openapi.json", *checks, *bounds]
        return subprocess.run(command, env=env, stdout=out, stderr=out, timeout=300).returncode


async def seed_rows(settings, database: str) -> None:
    """A goal with a deal, and a notification, of the signed-in user: ids the stateful phase
    follows (through the links of the list operations) to the operations that take them."""
    engine = create_engine(settings, database)
    try:
        async with session_factory(engine, settings)() as session, session.begin():
            user = await session.scalar(select(User).where(User.email == EMAIL))
            await make_deal(session, await make_goal(session, user))
            await notifications.create(
                session, user.id, type=NotificationType.SYSTEM, title="Hi", message="A note"
            )
    finally:
        await engine.dispose()


async def test_every_check_passes(served, settings, tmp_path):
    base, database = served
    await seed_rows(settings, database)
    log = tmp_path / "schemathesis.log"
    status = schemathesis(base, log)
    text = log.read_text()
    assert status == 0, text[-20000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in text, text[-5000:]
