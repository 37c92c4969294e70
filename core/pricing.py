"""Changing a service's price: the row in force is closed, a new one takes over."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from core.ledger import prices_valid_at
from core.models import TokenPricing


@dataclass(frozen=True)
class NewPrice:
    service_type: str
    token_cost: Decimal
    valid_from: datetime
    valid_to: datetime | None = None
    min_tokens: int | None = None  # None: keep the current row's
    max_tokens: int | None = None  # None: keep the current row's


def price_problem(price: NewPrice, min_tokens: int, max_tokens: int | None) -> str | None:
    if not price.service_type or len(price.service_type) > 50:
        return "a service type is 1 to 50 characters"
    if not price.token_cost.is_finite() or price.token_cost < 0:
        return "the cost must be a number of tokens, 0 or more"
    if min_tokens < 0:
        return "--min-tokens must be 0 or more"
    if max_tokens is not None and max_tokens < min_tokens:
        return f"--max-tokens ({max_tokens}) must be at least --min-tokens ({min_tokens})"
    if price.valid_to is not None and price.valid_to <= price.valid_from:
        return "--to must be after --from"
    return None


async def set_price(session: AsyncSession, price: NewPrice) -> TokenPricing:
    """Close the rows in force at price.valid_from (valid_to) and add the new row.

    Raises ValueError, with the reason in words, for a price that makes no sense.
    """
    current = list(
        await session.scalars(
            prices_valid_at(price.valid_from)
            .where(TokenPricing.service_type == price.service_type)
            .order_by(TokenPricing.valid_from.desc())
            .with_for_update()
        )
    )
    previous = current[0] if current else TokenPricing(min_tokens=1, max_tokens=None, meta_data={})
    min_tokens = previous.min_tokens if price.min_tokens is None else price.min_tokens
    max_tokens = previous.max_tokens if price.max_tokens is None else price.max_tokens
    if problem := price_problem(price, min_tokens, max_tokens):
        raise ValueError(problem)
    for row in current:
        row.valid_to = price.valid_from
    row = TokenPricing(
        service_type=price.service_type,
        token_cost=price.token_cost,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
        valid_from=price.valid_from,
        valid_to=price.valid_to,
        meta_data=previous.meta_data,
    )
    session.add(row)
    await session.flush()
    return row
