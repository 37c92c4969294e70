"""The ledger against a real PostgreSQL: prices, and balance changes under concurrency."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import ledger
from core.db import create_engine, session_factory
from core.models import Goal, TokenBalanceHistory, TokenPricing, TokenTransaction, User
from core.models.enums import MarketCategory, TransactionStatus, TransactionType


async def make_user(sessions: async_sessionmaker[AsyncSession], balance: str) -> uuid.UUID:
    async with sessions() as session, session.begin():
        user = User(
            email=f"{uuid.uuid4().hex}@example.com", password="x", token_balance=Decimal(balance)
        )
        session.add(user)
        await session.flush()
        return user.id


async def make_goal(sessions, user_id: uuid.UUID, max_tokens: str | None) -> uuid.UUID:
    async with sessions() as session, session.begin():
        goal = Goal(
            user_id=user_id,
            title="monitor",
            category=MarketCategory.ELECTRONICS,
            max_tokens=None if max_tokens is None else Decimal(max_tokens),
        )
        session.add(goal)
        await session.flush()
        return goal.id


async def try_deduct(sessions, user_id, amount: str, goal_id=None) -> bool:
    try:
        async with sessions() as session, session.begin():
            await ledger.deduct(
                session, user_id, Decimal(amount), description="test", goal_id=goal_id
            )
    except (ledger.InsufficientBalance, ledger.GoalTokenLimitExceeded):
        return False
    return True


async def assert_history_adds_up(sessions, user_id, start: Decimal) -> list[TokenBalanceHistory]:
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(TokenBalanceHistory)
                .where(TokenBalanceHistory.user_id == user_id)
                .order_by(TokenBalanceHistory.created_at)
            )
        )
        balance = await session.scalar(select(User.token_balance).where(User.id == user_id))
    previous = start
    for row in rows:
        assert row.balance_before == previous
        assert row.balance_after == row.balance_before + row.change_amount
        previous = row.balance_after
    assert previous == balance
    assert sum((r.change_amount for r in rows), Decimal(0)) == balance - start
    return rows


async def count_transactions(sessions, user_id, status: TransactionStatus) -> int:
    async with sessions() as session:
        return await session.scalar(
            select(func.count())
            .select_from(TokenTransaction)
            .where(TokenTransaction.user_id == user_id, TokenTransaction.status == status)
        )


@pytest.fixture
async def small_pools(settings, database_url):
    """Engines of 5 connections at most: many tasks contend, the server is not flooded."""
    small = settings.model_copy(update={"db_pool_max": 4, "db_pool_overflow": 1})
    engines = []

    def make() -> async_sessionmaker[AsyncSession]:
        engines.append(create_engine(small, database_url))
        return session_factory(engines[-1])

    yield make
    for engine in engines:
        await engine.dispose()


async def test_fifty_concurrent_deductions_against_twenty(sessions, small_pools):
    user_id = await make_user(sessions, "10")
    pool = small_pools()
    results = await asyncio.gather(*(try_deduct(pool, user_id, "0.5") for _ in range(50)))
    assert results.count(True) == 20
    rows = await assert_history_adds_up(sessions, user_id, Decimal(10))
    assert len(rows) == 20
    async with sessions() as session:
        user = await session.get(User, user_id)
    assert user.token_balance == 0
    assert user.total_tokens_spent == Decimal(10)
    assert await count_transactions(sessions, user_id, TransactionStatus.COMPLETED) == 20
    assert await count_transactions(sessions, user_id, TransactionStatus.FAILED) == 30


async def test_one_user_debited_from_several_engines(sessions, small_pools):
    """Several engines stand in for several server processes, each with its own pool."""
    user_id = await make_user(sessions, "30")
    factories = [small_pools() for _ in range(3)]

    async def credit(factory, i: int) -> None:
        async with factory() as session, session.begin():
            await ledger.reward(session, user_id, Decimal("0.25"), description=f"credit {i}")

    debits = [try_deduct(factories[i % 3], user_id, "1") for i in range(45)]
    credits = [credit(factories[i % 3], i) for i in range(12)]
    results = await asyncio.gather(*debits, *credits)
    succeeded = results[:45].count(True)
    rows = await assert_history_adds_up(sessions, user_id, Decimal(30))
    assert len(rows) == succeeded + 12
    async with sessions() as session:
        balance = await session.scalar(select(User.token_balance).where(User.id == user_id))
    assert balance == Decimal(30) + Decimal(3) - succeeded
    # Every debit fits while the balance lasts; credits landing late may leave up to 3 over.
    assert 30 <= succeeded <= 33 and balance >= 0


async def test_refused_deduction_is_recorded_even_when_the_caller_rolls_back(sessions):
    user_id = await make_user(sessions, "1")
    with pytest.raises(ledger.InsufficientBalance) as refused:
        async with sessions() as session, session.begin():
            await ledger.deduct(session, user_id, Decimal("2"), description="too much")
    assert (refused.value.balance, refused.value.needed) == (Decimal(1), Decimal(2))
    async with sessions() as session:
        failed = (await session.scalars(select(TokenTransaction).filter_by(user_id=user_id))).one()
        user = await session.get(User, user_id)
    assert failed.status == TransactionStatus.FAILED
    assert failed.type == TransactionType.DEDUCTION
    assert failed.meta_data["failure"] == "insufficient_balance"
    assert user.token_balance == Decimal(1)


async def test_refusal_leaves_the_callers_transaction_usable(sessions):
    user_id = await make_user(sessions, "1")
    async with sessions() as session, session.begin():
        await ledger.deduct(session, user_id, Decimal("0.4"), description="first")
        with pytest.raises(ledger.InsufficientBalance):
            await ledger.deduct(session, user_id, Decimal("5"), description="second")
        await ledger.deduct(session, user_id, Decimal("0.6"), description="third")
    rows = await assert_history_adds_up(sessions, user_id, Decimal(1))
    assert [r.change_amount for r in rows] == [Decimal("-0.4"), Decimal("-0.6")]


async def test_goal_max_tokens_is_never_exceeded(sessions):
    user_id = await make_user(sessions, "100")
    goal_id = await make_goal(sessions, user_id, "5")
    results = await asyncio.gather(
        *(try_deduct(sessions, user_id, "1", goal_id) for _ in range(20))
    )
    assert results.count(True) == 5
    async with sessions() as session:
        goal = await session.get(Goal, goal_id)
        user = await session.get(User, user_id)
    assert goal.total_tokens_spent == Decimal(5)
    assert user.token_balance == Decimal(95)
    assert user.total_tokens_spent == Decimal(5)
    # A refused goal rolls back the entry its deduction had already written.
    assert await count_transactions(sessions, user_id, TransactionStatus.COMPLETED) == 5
    assert len(await assert_history_adds_up(sessions, user_id, Decimal(100))) == 5


async def test_deduct_and_reward_keep_the_counters(sessions):
    user_id = await make_user(sessions, "10")
    goal_id = await make_goal(sessions, user_id, None)
    async with sessions() as session, session.begin():
        await ledger.deduct(session, user_id, Decimal("4"), description="search", goal_id=goal_id)
        entry = await ledger.reward(session, user_id, Decimal("2"), description="referral")
    assert entry.type == TransactionType.REWARD and entry.status == TransactionStatus.COMPLETED
    async with sessions() as session:
        user = await session.get(User, user_id)
        goal = await session.get(Goal, goal_id)
    assert user.token_balance == Decimal(8)
    assert user.total_tokens_spent == Decimal(4)
    assert user.total_rewards_earned == Decimal(2)
    assert goal.total_tokens_spent == Decimal(4)
    await assert_history_adds_up(sessions, user_id, Decimal(10))


async def test_another_users_goal_is_not_charged(sessions):
    owner = await make_user(sessions, "10")
    other = await make_user(sessions, "10")
    goal_id = await make_goal(sessions, owner, None)
    with pytest.raises(LookupError):
        async with sessions() as session, session.begin():
            await ledger.deduct(session, other, Decimal(1), description="x", goal_id=goal_id)
    async with sessions() as session:
        assert await session.scalar(select(User.token_balance).where(User.id == other)) == 10


@pytest.mark.parametrize("amount", [Decimal(-1), Decimal("NaN"), 1.5])
async def test_bad_amounts_are_refused(sessions, amount):
    user_id = await make_user(sessions, "10")
    with pytest.raises(ValueError):
        async with sessions() as session, session.begin():
            await ledger.deduct(session, user_id, amount, description="x")


async def test_price_lookup(sessions):
    service = f"svc_{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        with pytest.raises(ledger.PricingNotConfigured):
            await ledger.current_price(session, service)
        day = timedelta(days=1)
        rows = [(1, now - 2 * day, now, True), (2, now - day, None, True), (3, now, None, True)]
        rows += [(9, now + day, None, True), (7, now, None, False)]
        for cost, valid_from, valid_to, active in rows:
            session.add(
                TokenPricing(
                    service_type=service,
                    token_cost=Decimal(cost),
                    valid_from=valid_from,
                    valid_to=valid_to,
                    is_active=active,
                )
            )
        await session.flush()
        assert (await ledger.current_price(session, service)).token_cost == 3
        past = now - timedelta(hours=36)
        assert (await ledger.current_price(session, service, past)).token_cost == 1
        later = now + timedelta(days=2)
        assert (await ledger.current_price(session, service, later)).token_cost == 9
        with pytest.raises(ledger.PricingNotConfigured):
            await ledger.current_price(session, service, now - timedelta(days=3))


async def test_cost_clamps_units():
    price = TokenPricing(token_cost=Decimal("0.001"), min_tokens=100, max_tokens=8000)
    assert ledger.cost(price, 5) == Decimal("0.1")
    assert ledger.cost(price, 500) == Decimal("0.5")
    assert ledger.cost(price, 10**6) == Decimal("8")
    assert ledger.cost(TokenPricing(token_cost=Decimal("0.5"), min_tokens=1, max_tokens=None)) == (
        Decimal("0.5")
    )


async def test_seeded_prices_are_found(session):
    for service in ("chat_turn", "goal_creation", "market_search", "deal_query"):
        assert (await ledger.current_price(session, service)).token_cost > 0


async def test_a_deduction_tells_the_balance_it_left_and_writes_both_rows(sessions):
    user_id = await make_user(sessions, "10")
    goal_id = await make_goal(sessions, user_id, "5")
    async with sessions() as session, session.begin():
        first = await ledger.deduct(session, user_id, Decimal("1.5"), description="a")
        second = await ledger.deduct(
            session, user_id, Decimal("2"), description="b", goal_id=goal_id, meta={"k": "v"}
        )
    assert (first.balance, second.balance) == (Decimal("8.5"), Decimal("6.5"))
    assert second.transaction.goal_id == goal_id and second.transaction.meta_data == {"k": "v"}
    rows = await assert_history_adds_up(sessions, user_id, Decimal(10))
    assert [r.transaction_id for r in rows] == [first.transaction.id, second.transaction.id]
    assert [r.change_amount for r in rows] == [Decimal("-1.5"), Decimal("-2")]


async def test_price_and_balance_in_one_read(sessions):
    user_id = await make_user(sessions, "7")
    async with sessions() as session:
        price, balance = await ledger.price_and_balance(session, "chat_turn", user_id)
        assert price.id == (await ledger.current_price(session, "chat_turn")).id
        assert balance == Decimal(7)
        with pytest.raises(ledger.PricingNotConfigured):
            await ledger.price_and_balance(session, f"svc_{uuid.uuid4().hex[:8]}", user_id)
        with pytest.raises(LookupError):
            await ledger.price_and_balance(session, "chat_turn", uuid.uuid4())
