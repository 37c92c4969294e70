"""The token ledger: prices, and every change of a user's token balance.

deduct / reward run inside the caller's transaction. Each changes the balance with
one conditional UPDATE (the row lock orders concurrent changes; nothing is read first), and
writes a token_transactions row plus a token_balance_history row. A refused deduction
changes nothing, so the caller's transaction stays usable; when a goal is involved (two
rows to change) the work runs in a SAVEPOINT for the same reason. Locks are always taken
user row first, goal row second.

A refused deduction is also written as a `failed` transaction in its own short transaction
on a fresh, unpooled connection, so the record survives the caller's rollback. (Not from the
engine's pool: callers that all hold a pooled connection while being refused would otherwise
wait on each other for a free one.) At most RECORDERS_PER_LOOP such connections are open at
once per event loop, so a storm of refusals cannot exhaust the server's connections.
"""

import asyncio
import logging
import uuid
import weakref
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, NoReturn

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Select,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import aliased
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.dml import ReturningUpdate

from core.models import Goal, TokenBalanceHistory, TokenPricing, TokenTransaction, User
from core.models.enums import BalanceChangeType, TransactionStatus, TransactionType

log = logging.getLogger(__name__)

# token amounts are NUMERIC(18, 8): quantise first so the stored rows add up exactly.
QUANTUM = Decimal("0.00000001")
# Bound on writing a refused attempt's record; it must never hold up the caller for long.
FAILED_RECORD_TIMEOUT_S = 10.0
RECORDERS_PER_LOOP = 2
_recorder_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


class InsufficientBalance(Exception):
    def __init__(self, balance: Decimal, needed: Decimal) -> None:
        super().__init__(f"insufficient token balance: {balance} available, {needed} needed")
        self.balance = balance
        self.needed = needed


class GoalTokenLimitExceeded(Exception):
    def __init__(self, goal_id: uuid.UUID, max_tokens: Decimal, spent: Decimal) -> None:
        super().__init__(f"goal {goal_id} would exceed its limit of {max_tokens} tokens")
        self.goal_id = goal_id
        self.max_tokens = max_tokens
        self.spent = spent


class PricingNotConfigured(Exception):
    def __init__(self, service_type: str) -> None:
        super().__init__(f"no active token price for service {service_type!r}")
        self.service_type = service_type


def prices_valid_at(at: datetime | ColumnElement[datetime]) -> Select[tuple[TokenPricing]]:
    return select(TokenPricing).where(
        TokenPricing.is_active,
        TokenPricing.valid_from <= at,
        (TokenPricing.valid_to.is_(None)) | (TokenPricing.valid_to > at),
    )


def price_query(
    service_type: str, at: datetime | ColumnElement[datetime] | None = None
) -> Select[tuple[TokenPricing]]:
    """The active row valid at `at` (default now); the newest valid_from wins."""
    return (
        prices_valid_at(datetime.now(UTC) if at is None else at)
        .where(TokenPricing.service_type == service_type)
        .order_by(TokenPricing.valid_from.desc())
        .limit(1)
    )


async def current_price(
    session: AsyncSession, service_type: str, at: datetime | None = None
) -> TokenPricing:
    """The active row valid at `at` (default now); the newest valid_from wins."""
    price = await session.scalar(price_query(service_type, at))
    if price is None:
        raise PricingNotConfigured(service_type)
    return price


@cache
def price_and_balance_statement() -> Select[tuple[TokenPricing, Decimal]]:
    """Built once: constructing the query costs more than running it."""
    user = bindparam("user_id", type_=User.__table__.c.id.type)
    at = bindparam("at", type_=TokenPricing.__table__.c.valid_from.type)
    balance = select(User.token_balance).where(User.id == user).scalar_subquery()
    return (
        prices_valid_at(at)
        .where(TokenPricing.service_type == bindparam("service_type", type_=String()))
        .order_by(TokenPricing.valid_from.desc())
        .limit(1)
        .add_columns(balance)
    )


async def price_and_balance(
    session: AsyncSession, service_type: str, user_id: uuid.UUID
) -> tuple[TokenPricing, Decimal]:
    """current_price and the user's balance, read in one round trip."""
    params = {"service_type": service_type, "user_id": user_id, "at": datetime.now(UTC)}
    row = (await session.execute(price_and_balance_statement(), params)).first()
    if row is None:
        raise PricingNotConfigured(service_type)
    if row[1] is None:
        raise LookupError(f"no user {user_id}")
    return row[0], row[1]


async def current_prices(session: AsyncSession, at: datetime | None = None) -> list[TokenPricing]:
    """Every service's price valid at `at` (default now), by service type."""
    rows = await session.scalars(
        prices_valid_at(at or datetime.now(UTC)).order_by(
            TokenPricing.service_type, TokenPricing.valid_from.desc()
        )
    )
    newest: dict[str, TokenPricing] = {}
    for row in rows:
        newest.setdefault(row.service_type, row)
    return list(newest.values())


def cost(price: TokenPricing, units: int = 1) -> Decimal:
    """token_cost x units, units clamped to [min_tokens, max_tokens]."""
    units = max(units, price.min_tokens)
    if price.max_tokens is not None:
        units = min(units, price.max_tokens)
    return (price.token_cost * units).quantize(QUANTUM)


@dataclass(frozen=True)
class Entry:
    transaction: TokenTransaction
    balance: Decimal  # the user's balance right after it


async def deduct(
    session: AsyncSession,
    user_id: uuid.UUID,
    amount: Decimal,
    *,
    description: str,
    goal_id: uuid.UUID | None = None,
    meta: dict[str, Any] | None = None,
) -> Entry:
    """Take `amount` from the balance (and count it against the goal's max_tokens).
    The entry tells the balance it left, so the caller needs no second read."""
    amount = checked(amount)
    try:
        async with savepoint_if(session, goal_id is not None):
            # The balance change and both rows in one statement; no row: refused.
            params = entry_params(
                user_id, TransactionType.DEDUCTION, amount, -amount, description, goal_id, meta
            )
            row = (await session.execute(debit_entry_statement(), params)).first()
            if row is None:
                await refusal(session, user_id, amount)
            transaction, after = row
            if goal_id is not None:  # user row first, goal row second, as everywhere
                await spend_on_goal(session, user_id, goal_id, amount)
            return Entry(transaction, after)
    except (InsufficientBalance, GoalTokenLimitExceeded) as refused:
        await record_refused(session, user_id, amount, description, goal_id, meta, refused)
        raise


async def reward(
    session: AsyncSession,
    user_id: uuid.UUID,
    amount: Decimal,
    *,
    description: str,
    meta: dict[str, Any] | None = None,
) -> TokenTransaction:
    """Add `amount` to the balance as earned (grants, referral rewards)."""
    amount = checked(amount)
    after = await change_balance(
        session, user_id, amount, None, total_rewards_earned=User.total_rewards_earned + amount
    )
    return await write_entry(
        session, user_id, TransactionType.REWARD, amount, after - amount, after,
        description=description, meta=meta,
    )  # fmt: skip


def savepoint_if(session: AsyncSession, needed: bool) -> AbstractAsyncContextManager[Any]:
    return session.begin_nested() if needed else nullcontext()


def checked(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise ValueError(f"a token amount must be a finite, non-negative Decimal, not {amount!r}")
    return amount.quantize(QUANTUM)


async def change_balance(
    session: AsyncSession,
    user_id: uuid.UUID,
    delta: Decimal,
    condition: ColumnElement[bool] | None,
    **counters: Any,
) -> Decimal:
    """Apply `delta` in one UPDATE guarded by `condition`; return the new balance."""
    statement = update(User).where(User.id == user_id)
    if condition is not None:
        statement = statement.where(condition)
    statement = (
        statement.values(token_balance=User.token_balance + delta, **counters)
        .returning(User.token_balance)
        .execution_options(synchronize_session=False)
    )
    return await balance_after(session, statement, {}, user_id, delta)


@cache
def debit_statement(*, from_expected: bool = False) -> ReturningUpdate[tuple[Decimal]]:
    """deduct's conditional UPDATE, built once (building it costs more than running it).
    `from_expected`: only from the balance bound as `expected` (NULL: from any)."""
    amount = bindparam("amount", type_=User.__table__.c.token_balance.type)
    balance_type = User.__table__.c.token_balance.type
    debit = (
        update(User)
        .where(User.id == bindparam("user_id", type_=User.__table__.c.id.type))
        .where(User.token_balance >= amount)
    )
    if from_expected:
        expected = cast(bindparam("expected", type_=balance_type), balance_type)  # NULL's type
        debit = debit.where(expected.is_(None) | (User.token_balance == expected))
    return (
        debit.values(
            token_balance=User.token_balance - amount,
            total_tokens_spent=User.total_tokens_spent + amount,
        )
        .returning(User.token_balance)
        .execution_options(synchronize_session=False)
    )


async def balance_after(
    session: AsyncSession,
    statement: ReturningUpdate[tuple[Decimal]],
    params: dict[str, Any],
    user_id: uuid.UUID,
    delta: Decimal,
) -> Decimal:
    """Run a balance UPDATE ... RETURNING; no row: the user is missing or the guard refused."""
    after = await session.scalar(statement, params)
    if after is None:
        await refusal(session, user_id, -delta)
    return after


async def refusal(session: AsyncSession, user_id: uuid.UUID, needed: Decimal) -> NoReturn:
    """Why a guarded balance UPDATE changed no row: no such user, or too little balance."""
    balance = await session.scalar(select(User.token_balance).where(User.id == user_id))
    if balance is None:
        raise LookupError(f"no user {user_id}")
    raise InsufficientBalance(balance, needed)


async def spend_on_goal(
    session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID, amount: Decimal
) -> None:
    spent = await session.scalar(
        update(Goal)
        .where(
            Goal.id == goal_id,
            Goal.user_id == user_id,
            Goal.max_tokens.is_(None) | (Goal.total_tokens_spent + amount <= Goal.max_tokens),
        )
        .values(total_tokens_spent=Goal.total_tokens_spent + amount)
        .returning(Goal.total_tokens_spent)
        .execution_options(synchronize_session=False)
    )
    if spent is not None:
        return
    goal = (
        await session.execute(
            select(Goal.max_tokens, Goal.total_tokens_spent).where(
                Goal.id == goal_id, Goal.user_id == user_id
            )
        )
    ).one_or_none()
    if goal is None:
        raise LookupError(f"no goal {goal_id} of user {user_id}")
    raise GoalTokenLimitExceeded(goal_id, goal.max_tokens, goal.total_tokens_spent)


@dataclass(frozen=True)
class EntryParts:
    """The CTEs of an entry statement, for statements that do more in the same round trip."""

    written: CTE  # the token_transactions row
    recorded: CTE  # its token_balance_history row
    after: ColumnElement[Decimal]  # the balance after it
    joined: FromClause  # written, joined to the balance change when there is one


def build_entry(change: ReturningUpdate[tuple[Decimal]] | None) -> Select[Any]:
    """A transaction row and its history row in one statement (data-modifying CTEs): one
    round trip, not two. `change`: the balance UPDATE ... RETURNING token_balance to run in
    it too (no row if its guard refuses); None: the balance after is bound as `after`.
    Selects the transaction and the balance after it."""
    parts = entry_parts(change)
    entry = aliased(TokenTransaction, parts.written)
    return select(entry, parts.after).select_from(parts.joined).add_cte(parts.recorded)


def entry_parts(change: ReturningUpdate[tuple[Decimal]] | None) -> EntryParts:
    table = TokenTransaction.__table__.c
    history = TokenBalanceHistory.__table__.c
    delta = bindparam("delta", type_=history.change_amount.type)
    sources: list[CTE] = []
    after: ColumnElement[Decimal] = bindparam("after", type_=history.balance_after.type)
    if change is not None:
        changed = change.cte("changed")
        sources, after = [changed], changed.c.token_balance
    # clock_timestamp(), not the transaction's start: rows then sort in the order the
    # balance row's lock was granted, so each history row follows the one before it.
    written = (
        insert(TokenTransaction)
        .from_select(
            [table.user_id, table.type, table.amount, table.status, table.description,
             table.goal_id, table.meta_data, table.created_at],
            select(
                bindparam("user_id", type_=table.user_id.type),
                bindparam("kind", type_=table.type.type),
                bindparam("amount", type_=table.amount.type),
                literal(TransactionStatus.COMPLETED, table.status.type),
                bindparam("description", type_=table.description.type),
                bindparam("goal_id", type_=table.goal_id.type),
                bindparam("meta", type_=table.meta_data.type),
                func.clock_timestamp(),
            ).select_from(*sources),
        )
        .returning(*table)
        .cte("written")
    )  # fmt: skip
    joined = with_sources(written, sources)
    recorded = (
        insert(TokenBalanceHistory)
        .from_select(
            [history.user_id, history.balance_before, history.balance_after,
             history.change_amount, history.change_type, history.transaction_id,
             history.created_at],
            select(
                written.c.user_id,
                after - delta,
                after,
                delta,
                bindparam("change_type", type_=history.change_type.type),
                written.c.id,
                func.clock_timestamp(),
            ).select_from(joined),
        )
        .cte("recorded")
    )  # fmt: skip
    return EntryParts(written, recorded, after, joined)


def with_sources(written: CTE, sources: list[CTE]) -> FromClause:
    """`written` joined to the balance change (one row each): no cartesian-product warning."""
    return written.join(sources[0], true()) if sources else written


@cache
def entry_statement() -> Select[Any]:
    return build_entry(None)  # built once: building it costs more than running it


@cache
def debit_entry_statement() -> Select[Any]:
    return build_entry(debit_statement())


def entry_params(
    user_id: uuid.UUID,
    kind: TransactionType,
    amount: Decimal,
    delta: Decimal,
    description: str,
    goal_id: uuid.UUID | None,
    meta: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "kind": kind,
        "amount": amount,
        "delta": delta,
        "description": description,
        "goal_id": goal_id,
        "meta": meta or {},
        "change_type": BalanceChangeType(kind.value),
    }


async def write_entry(
    session: AsyncSession,
    user_id: uuid.UUID,
    kind: TransactionType,
    amount: Decimal,
    before: Decimal,
    after: Decimal,
    *,
    description: str,
    goal_id: uuid.UUID | None = None,
    meta: dict[str, Any] | None = None,
) -> TokenTransaction:
    params = entry_params(user_id, kind, amount, after - before, description, goal_id, meta)
    row = (await session.execute(entry_statement(), {**params, "after": after})).one()
    return row[0]


def unbooked(
    user_id: uuid.UUID,
    kind: TransactionType,
    amount: Decimal,
    status: TransactionStatus,
    description: str,
    meta: dict[str, Any],
    goal_id: uuid.UUID | None = None,
) -> TokenTransaction:
    """The record of a transaction that moved no tokens (refused, or not paid): no balance
    change and no history row go with it."""
    return TokenTransaction(
        user_id=user_id,
        type=kind,
        amount=amount,
        status=status,
        description=description,
        goal_id=goal_id,
        meta_data=meta,
        created_at=func.clock_timestamp(),
    )


def recorder_slot() -> asyncio.Semaphore:
    """This event loop's semaphore (asyncio primitives must not cross loops)."""
    loop = asyncio.get_running_loop()
    return _recorder_slots.setdefault(loop, asyncio.Semaphore(RECORDERS_PER_LOOP))


async def record_refused(
    session: AsyncSession,
    user_id: uuid.UUID,
    amount: Decimal,
    description: str,
    goal_id: uuid.UUID | None,
    meta: dict[str, Any] | None,
    refused: Exception,
) -> None:
    """Write the refused deduction as `failed`, committed apart from the caller's work."""
    reason = "insufficient_balance" if isinstance(refused, InsufficientBalance) else "goal_limit"
    bind = session.bind
    url = (bind.engine if isinstance(bind, AsyncConnection) else bind).url
    own_engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with (
            asyncio.timeout(FAILED_RECORD_TIMEOUT_S),
            recorder_slot(),
            async_sessionmaker(own_engine)() as own,
            own.begin(),
        ):
            own.add(
                unbooked(
                    user_id,
                    TransactionType.DEDUCTION,
                    amount,
                    TransactionStatus.FAILED,
                    description,
                    {**(meta or {}), "failure": reason, "error": str(refused)},
                    goal_id,
                )
            )
    except (SQLAlchemyError, TimeoutError) as error:  # the refusal itself still stands
        log.warning("could not record refused deduction for user %s: %r", user_id, error)
    finally:
        await own_engine.dispose()


async def transactions_page(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[TokenTransaction], int]:
    """One page of the user's transactions, newest first, and how many there are in all."""
    mine = TokenTransaction.user_id == user_id
    total = await session.scalar(select(func.count()).select_from(TokenTransaction).where(mine))
    rows = await session.scalars(
        select(TokenTransaction)
        .where(mine)
        .order_by(TokenTransaction.created_at.desc(), TokenTransaction.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
