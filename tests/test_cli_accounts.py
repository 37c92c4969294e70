"""`dealagent pricing ...` and `dealagent users grant`, run as the real command."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from core import ledger
from core.models import TokenPricing, TokenTransaction, User
from tests.factories import make_user

DEALAGENT = str(Path(sys.executable).parent / "dealagent")


@pytest.fixture
def dealagent(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "DEALAGENT_HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [DEALAGENT, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    return run


async def prices_of(sessions, service: str) -> list[TokenPricing]:
    async with sessions() as session:
        query = select(TokenPricing).where(TokenPricing.service_type == service)
        return list(await session.scalars(query.order_by(TokenPricing.valid_from)))


async def test_pricing_set_closes_the_current_row(dealagent, sessions):
    service = f"svc_{uuid.uuid4().hex[:8]}"
    first = dealagent("pricing", "set", service, "2", "--min-tokens", "3", "--max-tokens", "9")
    assert first.returncode == 0, first.stderr
    second = dealagent("pricing", "set", service, "0.25")
    assert second.returncode == 0, second.stderr
    assert "0.25 tokens per unit, units 3..9" in second.stdout
    old, new = await prices_of(sessions, service)
    assert old.valid_to == new.valid_from and new.valid_to is None
    assert (new.token_cost, new.min_tokens, new.max_tokens) == (Decimal("0.25"), 3, 9)
    async with sessions() as session:
        assert (await ledger.current_price(session, service)).id == new.id
    listing = dealagent("pricing", "list")
    assert listing.returncode == 0, listing.stderr
    line = next(x for x in listing.stdout.splitlines() if x.startswith(service))
    assert "0.25" in line and "2.0" not in line
    assert any(x.startswith("chat_turn") for x in listing.stdout.splitlines())


async def test_pricing_set_for_a_later_window(dealagent, sessions):
    service = f"svc_{uuid.uuid4().hex[:8]}"
    assert dealagent("pricing", "set", service, "1").returncode == 0
    start = datetime.now(UTC) + timedelta(days=1)
    end = start + timedelta(days=2)
    later = dealagent(
        "pricing", "set", service, "5", "--from", start.isoformat(), "--to", end.isoformat()
    )
    assert later.returncode == 0, later.stderr
    async with sessions() as session:
        assert (await ledger.current_price(session, service)).token_cost == 1
        during = await ledger.current_price(session, service, start + timedelta(hours=1))
        assert during.token_cost == 5
        with pytest.raises(ledger.PricingNotConfigured):  # the old row was closed at `start`
            await ledger.current_price(session, service, end + timedelta(hours=1))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["1", "--min-tokens", "5", "--max-tokens", "2"], 1, "must be at least --min-tokens"),
        (["-1"], 1, "0 or more"),
        (["abc"], 2, "is not a number"),
        (["1", "--from", "yesterday"], 2, "ISO 8601"),
        (["1", "--from", "2030-01-02", "--to", "2030-01-01"], 1, "--to must be after --from"),
    ],
)
async def test_pricing_set_refuses_nonsense(dealagent, sessions, args, code, message):
    service = f"svc_{uuid.uuid4().hex[:8]}"
    result = dealagent("pricing", "set", service, *args)
    assert result.returncode == code
    assert message in result.stderr
    assert await prices_of(sessions, service) == []


async def test_users_grant(dealagent, sessions):
    async with sessions() as session, session.begin():
        user = await make_user(session)
    result = dealagent("users", "grant", user.email.upper(), "25.5", "--reason", "support")
    assert result.returncode == 0, result.stderr
    assert "balance now 25.5" in result.stdout
    async with sessions() as session:
        balance = await session.scalar(select(User.token_balance).where(User.id == user.id))
        entry = await session.scalar(select(TokenTransaction).filter_by(user_id=user.id))
    assert balance == Decimal("25.5")
    assert (entry.type, entry.description, entry.amount) == ("reward", "support", balance)

    unknown = dealagent("users", "grant", "nobody@example.com", "5")
    assert unknown.returncode == 1 and "no user with email" in unknown.stderr
    negative = dealagent("users", "grant", user.email, "-5")
    assert negative.returncode == 1 and "more than 0" in negative.stderr
