"""What a chat turn costs, and its settlement: one ledger deduction per turn.

    charge = cost(chat_turn, turn tokens)            # token_cost x clamp(tokens, min, max)
           + sum(cost(price of s.service_type, s.units) for each service the tools used)

A turn whose model failed is charged no chat_turn part (tokens=None), only the services
its tools completed. A balance that cannot cover the chat_turn minimum (token_cost x
min_tokens) cannot start a turn.
"""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

import psycopg
from sqlalchemy import Select, String, bindparam, cast, func, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from core import alerts, ledger
from core.ledger import InsufficientBalance
from core.models import ChatMessage, Goal, TokenPricing, User
from core.models.enums import GoalStatus, MessageRole, TransactionType
from core.plain import decimal_text
from core.precompiled import Precompiled

CHAT_TURN = "chat_turn"


class ServiceUsed(Protocol):
    service_type: str
    units: int
    goal_id: uuid.UUID | None


@dataclass(frozen=True)
class Line:
    """One priced part of a turn's charge."""

    service_type: str
    units: int
    amount: Decimal
    goal_id: uuid.UUID | None = None

    def as_meta(self) -> dict[str, Any]:
        return {
            "service_type": self.service_type,
            "units": self.units,
            "amount": decimal_text(self.amount),
            "goal_id": str(self.goal_id) if self.goal_id else None,
        }


@dataclass
class Settlement:
    charged: Decimal
    balance: Decimal
    transaction_id: uuid.UUID | None
    lines: list[Line] = field(default_factory=list)


async def balance_of(session: AsyncSession, user_id: uuid.UUID) -> Decimal:
    return await session.scalar(select(User.token_balance).where(User.id == user_id))


@dataclass(frozen=True)
class Quote:
    """The chat_turn price (None: none is active) and the balance, read as a turn starts."""

    price: TokenPricing | None
    balance: Decimal

    def chat_price(self) -> TokenPricing:
        """The price the turn will be charged at, if the balance covers the smallest
        possible turn; else InsufficientBalance."""
        if self.price is None:
            raise ledger.PricingNotConfigured(CHAT_TURN)
        minimum = ledger.cost(self.price, 0)
        if self.balance < minimum:
            raise InsufficientBalance(self.balance, minimum)
        return self.price


async def price_lines(
    session: AsyncSession,
    tokens: int | None,
    services: list[ServiceUsed],
    chat_price: TokenPricing | None,
) -> list[Line]:
    wanted = ([(CHAT_TURN, tokens, None)] if tokens is not None else []) + [
        (s.service_type, s.units, s.goal_id) for s in services
    ]
    prices = {CHAT_TURN: chat_price} if chat_price else {}
    for kind in {w[0] for w in wanted} - prices.keys():
        prices[kind] = await ledger.current_price(session, kind)
    return [Line(kind, n, ledger.cost(prices[kind], n), goal) for kind, n, goal in wanted]


async def settle_turn(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    tokens: int | None,
    services: list[ServiceUsed],
    goal_id: uuid.UUID | None,
    meta: dict[str, Any],
    chat_price: TokenPricing | None = None,
) -> Settlement:
    """Charge the turn in the caller's transaction: one deduction, its lines in meta_data.

    `chat_price`: the chat_turn price quoted when the turn started (default: the current one).

    If the balance fell short of the full charge (tools may cost more than the minimum
    checked before the turn), what is left is taken and the shortfall noted: the work was
    done and is not undone. A turn that would take a goal over its max_tokens is charged to
    the user alone, and the goal is paused with a notification saying why.
    """
    lines = await price_lines(session, tokens, services, chat_price)
    amount = sum((line.amount for line in lines), Decimal(0))
    if amount == 0:
        return Settlement(Decimal(0), await balance_of(session, user_id), None, lines)
    meta = {**meta, "lines": [line.as_meta() for line in lines]}
    description = turn_description(meta)
    try:
        entry = await ledger.deduct(
            session, user_id, amount, description=description, goal_id=goal_id, meta=meta
        )
    except ledger.GoalTokenLimitExceeded as over:
        # The turn's work is done and is the user's to pay; the goal stops spending.
        meta["goal_over_limit"] = str(goal_id)
        entry = await ledger.deduct(session, user_id, amount, description=description, meta=meta)
        await pause_over_limit(session, over, amount)
    except InsufficientBalance as short:
        amount, meta["shortfall"] = short.balance, decimal_text(short.needed - short.balance)
        entry = await ledger.deduct(session, user_id, amount, description=description, meta=meta)
    return Settlement(amount, entry.balance, entry.transaction.id, lines)


def turn_description(meta: dict[str, Any]) -> str:
    return f"chat turn {meta.get('turn_id', '')}".strip()


@dataclass(frozen=True)
class Reply:
    """The assistant message a settlement stores with its deduction; `meta` gains the
    transaction's id and the balance after it as stored."""

    id: uuid.UUID
    content: str
    tokens_used: int
    meta: dict[str, Any]


@cache
def settle_and_reply() -> Precompiled:
    return Precompiled.of(settle_and_reply_statement())


def settle_and_reply_statement() -> Select[Any]:
    """The deduction (only from the `expected` balance, when one is bound), its rows and the
    reply that goes with it, in one statement."""
    parts = ledger.entry_parts(ledger.debit_statement(from_expected=True))
    reply = ChatMessage.__table__.c
    meta = bindparam("reply_meta", type_=reply.meta_data.type).op("||", return_type=JSONB)(
        func.jsonb_build_object(
            "transaction_id", cast(parts.written.c.id, String),
            "token_balance", cast(parts.after, String),
        )
    )  # fmt: skip
    stored = (
        insert(ChatMessage.__table__)
        .from_select(
            [reply.id, reply.user_id, reply.role, reply.content, reply.tokens_used,
             reply.meta_data],
            select(
                bindparam("reply_id", type_=reply.id.type),
                parts.written.c.user_id,
                literal(MessageRole.ASSISTANT, reply.role.type),
                bindparam("reply_content", type_=reply.content.type),
                bindparam("reply_tokens", type_=reply.tokens_used.type),
                meta,
            ).select_from(parts.joined),
        )
        .cte("stored")
    )  # fmt: skip
    return (
        select(parts.written.c.id, parts.after)
        .select_from(parts.joined)
        .add_cte(parts.recorded, stored)
    )


async def settle_with_reply(
    conn: psycopg.AsyncConnection,
    user_id: uuid.UUID,
    *,
    tokens: int,
    chat_price: TokenPricing,
    meta: dict[str, Any],
    reply: Reply,
    expected: Decimal | None,
) -> Settlement | None:
    """settle_turn for a turn with no goal and no services, and its reply stored, in one
    statement: on an autocommit connection, one round trip. `expected`: settle only from
    this balance (the reply tells the balance after the charge). None back, nothing
    written: the balance was short or not the one expected; settle_turn then."""
    line = Line(CHAT_TURN, tokens, ledger.cost(chat_price, tokens))
    if line.amount == 0:
        return None
    meta = {**meta, "lines": [line.as_meta()]}
    params = ledger.entry_params(
        user_id, TransactionType.DEDUCTION, line.amount, -line.amount,
        turn_description(meta), None, meta,
    )  # fmt: skip
    params |= {"expected": expected, "reply_id": reply.id, "reply_content": reply.content}
    params |= {"reply_tokens": reply.tokens_used, "reply_meta": reply.meta}
    rows = await settle_and_reply().rows(conn, params)
    if not rows:
        return None
    return Settlement(line.amount, rows[0].token_balance, rows[0].id, [line])


async def pause_over_limit(
    session: AsyncSession, over: ledger.GoalTokenLimitExceeded, cost: Decimal
) -> None:
    goal = await session.get(Goal, over.goal_id, with_for_update=True)
    if goal is None or goal.status != GoalStatus.ACTIVE:
        return
    message = alerts.over_limit_text(goal, over.spent, over.max_tokens, cost, "this chat turn")
    await alerts.stop_goal(session, goal, GoalStatus.PAUSED, "paused_token_limit", message)
