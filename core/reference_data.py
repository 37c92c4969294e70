"""Default token prices and the five markets; writing them again changes nothing."""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Market, TokenPricing
from core.models.enums import MarketType


@dataclass(frozen=True)
class DefaultPrice:
    service_type: str
    token_cost: Decimal
    min_tokens: int = 1
    max_tokens: int | None = None
    description: str = ""


# A service is charged token_cost x units, units clamped to [min_tokens, max_tokens].
# A chat turn's units are the LLM tokens it used; every other service counts one unit.
DEFAULT_PRICES = (
    DefaultPrice("chat_turn", Decimal("0.001"), 100, 8000, "per LLM token of a chat turn"),
    DefaultPrice("goal_creation", Decimal("1"), description="creating a goal"),
    DefaultPrice("market_search", Decimal("0.5"), description="one search across the markets"),
    DefaultPrice("deal_query", Decimal("0.1"), description="one query of stored deals"),
    DefaultPrice("url_tracking", Decimal("0.5"), description="reading a product page to track"),
    # Rewards: the price is what the ledger pays out, not what it takes.
    DefaultPrice("referral_reward", Decimal("10"), description="paid to a referrer per sign-up"),
    DefaultPrice("referral_bonus", Decimal("5"), description="paid to a referred new user"),
)

DEFAULT_MARKETS = (
    ("Amazon", MarketType.AMAZON, "https://webservices.amazon.com", "/paapi5/searchitems"),
    (
        "Walmart",
        MarketType.WALMART,
        "https://developer.api.walmart.com",
        "/api-proxy/service/affil/product/v2/search",
    ),
    ("eBay", MarketType.EBAY, "https://api.ebay.com", "/buy/browse/v1/item_summary/search"),
    (
        "Target",
        MarketType.TARGET,
        "https://redsky.target.com",
        "/redsky_aggregations/v1/web/plp_search_v2",
    ),
    ("Best Buy", MarketType.BESTBUY, "https://api.bestbuy.com", "/v1/products"),
)


async def seed_reference_data(session: AsyncSession) -> None:
    priced = set(await session.scalars(select(TokenPricing.service_type)))
    for price in DEFAULT_PRICES:
        if price.service_type not in priced:
            session.add(
                TokenPricing(
                    service_type=price.service_type,
                    token_cost=price.token_cost,
                    min_tokens=price.min_tokens,
                    max_tokens=price.max_tokens,
                    meta_data={"description": price.description},
                )
            )
    present = set(await session.scalars(select(Market.type)))
    for name, market_type, base_url, endpoint in DEFAULT_MARKETS:
        if market_type not in present:
            session.add(
                Market(name=name, type=market_type, base_url=base_url, api_endpoint=endpoint)
            )
