"""What every marketplace adapter shares: the query it answers, the offer it returns,
and the errors that tell market health what went wrong."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

from core.config import Settings
from core.models.enums import DealSource, MarketCategory, MarketType

CENT = Decimal("0.01")
log = logging.getLogger(__name__)


class MarketError(Exception):
    """The market answered, but not with offers (HTTP error, refused credentials)."""


class RemoteRateLimited(MarketError):
    """The market itself said it is over its rate limit (each API says so its own way)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class MalformedResponse(MarketError):
    """The body was not the JSON shape the market's API documents."""


class NotConfigured(MarketError):
    """A secret this market needs is missing from the settings."""


@dataclass(frozen=True)
class MarketQuery:
    keywords: str
    category: MarketCategory | None = None
    max_price: Decimal | None = None
    min_discount: Decimal | None = None
    limit: int = 10


@dataclass(frozen=True)
class Endpoint:
    """Where a market lives, from its `markets` row."""

    base_url: str
    api_endpoint: str
    api_key: str | None = None

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + self.api_endpoint


@dataclass(frozen=True)
class Offer:
    market: MarketType
    item_id: str
    title: str
    url: str
    current_price: Decimal
    source: DealSource
    currency: str = "USD"
    original_price: Decimal | None = None
    image_url: str | None = None
    description: str | None = None
    seller_name: str | None = None
    seller_rating: Decimal | None = None  # 0-5 stars
    available: bool = True
    availability: str | None = None
    shipping_info: dict[str, Any] | None = None
    product_specs: dict[str, Any] = field(default_factory=dict)
    category: MarketCategory = MarketCategory.OTHER
    upc: str | None = None
    gtin: str | None = None
    mpn: str | None = None

    @property
    def discount_percent(self) -> Decimal | None:
        return discount(self.current_price, self.original_price)

    @property
    def identity(self) -> str | None:
        """A key naming the product itself, the same on every market that lists it."""
        if code := self.gtin or self.upc:
            return "gtin:" + code.lstrip("0")
        if self.mpn:
            brand = str(self.product_specs.get("brand") or "").lower()
            return f"mpn:{brand}:{self.mpn.lower()}"
        return None


def discount(current: Decimal, original: Decimal | None) -> Decimal | None:
    if original is None or original <= 0 or original <= current:
        return None
    return ((original - current) * 100 / original).quantize(CENT, ROUND_HALF_UP)


def list_price(current: Decimal, original: Decimal | None) -> Decimal | None:
    """The struck-through price, only when it is above what one pays now."""
    return original if original is not None and original > current else None


def money(value: Any) -> Decimal | None:
    """A price as the APIs write it (number or string, maybe "$1,299.99") to Decimal."""
    if value is None or value == "":
        return None
    text = str(value).replace("$", "").replace(",", "").strip()
    try:
        return Decimal(text).quantize(CENT, ROUND_HALF_UP)
    except InvalidOperation as error:
        raise MalformedResponse(f"not a price: {value!r}") from error


def rating(value: Any, scale: Decimal = Decimal(5)) -> Decimal | None:
    """A rating on `scale` (5 stars, or 100 %) to 0-5 stars."""
    number = money(value)
    return None if number is None else (number * 5 / scale).quantize(CENT, ROUND_HALF_UP)


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by these APIs)."""
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def read_json(response: httpx.Response) -> Any:
    """The body of a successful response, or the MarketError that describes the failure."""
    if response.status_code == 429:
        raise RemoteRateLimited(f"HTTP 429: {response.text[:200]}", retry_after(response))
    if response.status_code >= 400:
        raise MarketError(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MalformedResponse(f"body is not JSON: {response.text[:80]!r}") from error


# What reading one item can raise when the item is not in the documented shape.
UNREADABLE = (MalformedResponse, KeyError, TypeError, AttributeError, IndexError, ValueError)


class Adapter(ABC):
    """One marketplace's API: a query in, normalized offers out. One instance per search:
    `skipped` holds why each item it could not read was left out."""

    market: MarketType

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.skipped: list[str] = []

    def parse_each(
        self, items: Any, parse: Callable[[dict[str, Any]], Offer | None]
    ) -> list[Offer]:
        """Parse item by item: an item that cannot be read is skipped, logged and counted,
        and costs only itself. A list that is not a list is a malformed answer."""
        if not isinstance(items, list):
            raise MalformedResponse(f"expected a list of items, got {type(items).__name__}")
        offers = []
        for position, item in enumerate(items):
            try:
                offer = parse(item)
            except UNREADABLE as error:
                reason = f"item {position}: {type(error).__name__}: {error}"[:300]
                log.warning("%s: skipped an item it cannot read (%s)", self.market, reason)
                self.skipped.append(reason)
                continue
            if offer is not None:
                offers.append(offer)
        return offers

    @abstractmethod
    async def search(
        self, http: httpx.AsyncClient, endpoint: Endpoint, query: MarketQuery
    ) -> list[Offer]: ...
