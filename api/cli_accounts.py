"""Operators' commands of the `dealagent` CLI: token prices and token grants."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core import accounts, ledger
from core.config import get_settings
from core.db import create_engine, session_factory
from core.embedded_db import database_url
from core.pricing import NewPrice, set_price

T = TypeVar("T")


def in_one_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    settings = get_settings().model_copy(update={"db_pool_min": 1, "db_pool_max": 1})

    async def run(url: str) -> T:
        engine = create_engine(settings, url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    with database_url(settings) as url:
        return asyncio.run(run(url))


def fail(message: str) -> NoReturn:
    sys.exit(f"dealagent: {message}")


def amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def moment(text: str) -> datetime:
    """ISO 8601; a time without a zone is taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return "-" if value is None else str(value)


def pricing_set(args: argparse.Namespace) -> None:
    price = NewPrice(
        service_type=args.service,
        token_cost=args.cost,
        valid_from=args.valid_from or datetime.now(UTC),
        valid_to=args.valid_to,
        min_tokens=args.min_tokens,
        max_tokens=args.max_tokens,
    )
    try:
        row = in_one_transaction(lambda session: set_price(session, price))
    except ValueError as error:
        fail(str(error))
    print(
        f"{row.service_type}: {row.token_cost} tokens per unit, units "
        f"{row.min_tokens}..{show(row.max_tokens)}, from {show(row.valid_from)} "
        f"to {show(row.valid_to)}"
    )


def pricing_list(args: argparse.Namespace) -> None:
    rows = in_one_transaction(ledger.current_prices)
    print(f"{'SERVICE':<20} {'COST':>16} {'MIN':>6} {'MAX':>6}  VALID FROM                 TO")
    for r in rows:
        print(
            f"{r.service_type:<20} {r.token_cost:>16} {r.min_tokens:>6} "
            f"{show(r.max_tokens):>6}  {show(r.valid_from):<26} {show(r.valid_to)}"
        )


def users_grant(args: argparse.Namespace) -> None:
    try:
        user = in_one_transaction(
            lambda session: accounts.grant(session, args.email, args.amount, args.reason)
        )
    except accounts.AccountError as error:
        fail(str(error))
    print(f"granted {args.amount} tokens to {user.email}; balance now {user.token_balance}")


def add_commands(commands: Any) -> None:
    pricing = commands.add_parser("pricing", help="token prices of the services")
    actions = pricing.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("set", help="close the price in force and start a new one")
    p.add_argument("service", help="service type, e.g. chat_turn, market_search")
    p.add_argument("cost", type=amount, help="tokens per unit")
    p.add_argument("--min-tokens", type=int, help="fewest units charged (default: unchanged)")
    p.add_argument("--max-tokens", type=int, help="most units charged (default: unchanged)")
    p.add_argument("--from", dest="valid_from", type=moment, help="ISO time (default: now)")
    p.add_argument("--to", dest="valid_to", type=moment, help="ISO time (default: open-ended)")
    p.set_defaults(run=pricing_set)
    p = actions.add_parser("list", help="the prices in force now")
    p.set_defaults(run=pricing_list)

    users = commands.add_parser("users", help="user accounts")
    actions = users.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("grant", help="give a user tokens (booked as a reward)")
    p.add_argument("email")
    p.add_argument("amount", type=amount)
    p.add_argument("--reason", default="operator grant", help="shown in the transaction list")
    p.set_defaults(run=users_grant)
