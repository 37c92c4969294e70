"""Prices that move: deterministic per product, market and day (sales, rises, sold-out spells,
delisted weeks), so that monitoring sees real drops without any state."""

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from core.models.enums import MarketType
from markets.sandbox.catalog import SEED, Product

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Quote:
    price: Decimal
    list_price: Decimal
    on_sale: bool
    in_stock: bool
    listed: bool
    pinned: bool = False  # a price a test chose (a fixed price, never an auction's bid)

    @property
    def percent_off(self) -> Decimal:
        # A pinned price may stand above the list price: no saving then, not a negative one.
        saving = ((self.list_price - self.price) * 100 / self.list_price).quantize(CENT)
        return max(saving, Decimal("0.00"))


def chance(*parts: object) -> float:
    """A number in [0, 1) fixed by its parts."""
    digest = hashlib.blake2b(":".join(map(str, (SEED, *parts))).encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2**64


def quote(product: Product, market: MarketType, day: date) -> Quote:
    n = day.toordinal()
    key = (product.pid, market.value)
    # Each market prices a little differently; the list price drifts week by week.
    spread = Decimal(str(round(0.94 + 0.12 * chance(*key, "spread"), 3)))
    drift = Decimal(str(round(0.97 + 0.08 * chance(*key, "week", n // 7), 3)))
    list_price = (product.list_price * spread * drift).quantize(Decimal(1), ROUND_HALF_UP) - CENT
    on_sale = chance(*key, "sale", n // 3) < 0.3
    cut = Decimal(str(round(0.08 + 0.32 * chance(*key, "cut", n // 3), 2))) if on_sale else 0
    price = (list_price * (1 - Decimal(cut))).quantize(CENT, ROUND_HALF_UP)
    return Quote(
        price=price,
        list_price=list_price,
        on_sale=on_sale,
        in_stock=chance(*key, "stock", n // 2) >= 0.07,
        listed=chance(*key, "gone", n // 7) >= 0.03,
    )


def pinned(q: Quote, price: Decimal) -> Quote:
    """`q` at a price a test chose: listed and in stock whatever the day, the list price
    kept, so the discount follows from the two."""
    return Quote(
        price=price,
        list_price=q.list_price,
        on_sale=price < q.list_price,
        in_stock=True,
        listed=True,
        pinned=True,
    )
