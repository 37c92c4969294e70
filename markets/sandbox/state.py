"""What a running sandbox remembers: its catalog, its clock, the faults it was told to
act out per market, the prices it was told to hold, and counters tests read back."""

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from core.models.enums import MarketCategory, MarketType
from markets.sandbox.catalog import Catalog, Product, default_catalog
from markets.sandbox.pricing import Quote, pinned, quote
from markets.text import words

FaultMode = Literal["ok", "slow", "error", "rate_limit", "malformed"]


@dataclass
class Fault:
    mode: FaultMode = "ok"
    delay_s: float = 0.0


@dataclass
class Hit:
    product: Product
    quote: Quote


@dataclass
class SandboxState:
    catalog: Catalog = field(default_factory=default_catalog)
    today: date | None = None  # None: the real UTC date
    faults: dict[MarketType, Fault] = field(default_factory=dict)
    pins: dict[tuple[MarketType, str], Decimal] = field(default_factory=dict)  # (market, item)
    requests: Counter[str] = field(default_factory=Counter)
    tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0

    def day(self) -> date:
        return self.today or datetime.now(UTC).date()

    async def delay(self, market: MarketType) -> Fault:
        """Count the request and act out a `slow` fault; the caller acts out the others."""
        self.requests[market.value] += 1
        fault = self.faults.get(market, Fault())
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        return fault

    def price_quote(self, product: Product, market: MarketType, day: date) -> Quote:
        """The product's price on `market` that day, or the price pinned for that listing."""
        q = quote(product, market, day)
        price = self.pins.get((market, product.listings[market]))
        return q if price is None else pinned(q, price)

    def listing(self, market: MarketType, item_id: str) -> Hit | None:
        product = self.catalog.by_item.get((market, item_id))
        if product is None:
            return None
        q = self.price_quote(product, market, self.day())
        return Hit(product, q) if q.listed else None

    def search(
        self,
        market: MarketType,
        text: str,
        *,
        category: MarketCategory | None = None,
        max_price: Decimal | None = None,
        min_price: Decimal | None = None,
        min_discount: Decimal | None = None,
    ) -> list[Hit]:
        day = self.day()
        hits = []
        for product in self.catalog.matching(text):
            if market not in product.listings:
                continue
            if category is not None and product.category is not category:
                continue
            q = self.price_quote(product, market, day)
            if not q.listed:
                continue
            if max_price is not None and q.price > max_price:
                continue
            if min_price is not None and q.price < min_price:
                continue
            if min_discount is not None and q.percent_off < min_discount:
                continue
            hits.append(Hit(product, q))
        extra = len(words(text))
        hits.sort(key=lambda h: (len(words(h.product.title)) - extra, h.product.pid))
        return hits
