"""eBay: Browse API item_summary/search with an OAuth client-credentials application token."""

import time
from dataclasses import dataclass
from typing import Any

import httpx

from core.config import Settings
from core.models.enums import DealSource, MarketType
from markets.base import (
    Adapter,
    Endpoint,
    MarketError,
    MarketQuery,
    NotConfigured,
    Offer,
    money,
    parse_each,
    rating,
    read_json,
)
from markets.categories import category_id, category_of

TOKEN_PATH = "/identity/v1/oauth2/token"
SCOPE = "https://api.ebay.com/oauth/api_scope"
EXPIRY_MARGIN_S = 60  # renew a little before eBay would refuse the token


@dataclass
class CachedToken:
    value: str
    expires_at: float  # time.monotonic()


# One application token per (token URL, client id), shared by every search in the process.
_tokens: dict[tuple[str, str], CachedToken] = {}


async def application_token(http: httpx.AsyncClient, base_url: str, settings: Settings) -> str:
    if not (settings.ebay_client_id and settings.ebay_client_secret):
        raise NotConfigured("ebay_client_id/ebay_client_secret unset")
    key = (base_url.rstrip("/") + TOKEN_PATH, settings.ebay_client_id)
    cached = _tokens.get(key)
    if cached and cached.expires_at > time.monotonic():
        return cached.value
    response = await http.post(
        key[0],
        data={"grant_type": "client_credentials", "scope": SCOPE},
        auth=(settings.ebay_client_id, settings.ebay_client_secret),
    )
    data = read_json(response)
    if "access_token" not in data:
        raise MarketError(f"eBay token refused: {data}")
    lifetime = float(data.get("expires_in", 7200)) - EXPIRY_MARGIN_S
    _tokens[key] = CachedToken(data["access_token"], time.monotonic() + lifetime)
    return data["access_token"]


def forget_token(base_url: str, settings: Settings) -> None:
    _tokens.pop((base_url.rstrip("/") + TOKEN_PATH, settings.ebay_client_id or ""), None)


def search_params(query: MarketQuery) -> dict[str, str]:
    params = {"q": query.keywords, "limit": str(max(1, min(query.limit, 200)))}
    filters = []
    if query.max_price is not None:
        filters += [f"price:[..{query.max_price}]", "priceCurrency:USD"]
    if filters:
        params["filter"] = ",".join(filters)
    if cat := category_id(MarketType.EBAY, query.category):
        params["category_ids"] = cat
    return params


def parse_item(item: dict[str, Any]) -> Offer:
    marketing = item.get("marketingPrice") or {}
    seller = item.get("seller") or {}
    shipping = (item.get("shippingOptions") or [{}])[0]
    return Offer(
        market=MarketType.EBAY,
        source=DealSource.EBAY,
        item_id=item["itemId"],
        title=item["title"],
        url=item["itemWebUrl"],
        current_price=money(item["price"]["value"]),
        currency=item["price"].get("currency", "USD"),
        original_price=money((marketing.get("originalPrice") or {}).get("value")),
        image_url=(item.get("image") or {}).get("imageUrl"),
        description=item.get("shortDescription"),
        seller_name=seller.get("username"),
        seller_rating=rating(seller.get("feedbackPercentage"), scale=money(100)),
        available=True,  # eBay lists only items still for sale
        availability=item.get("condition"),
        shipping_info={
            "cost": (shipping.get("shippingCost") or {}).get("value"),
            "type": shipping.get("shippingCostType"),
        },
        product_specs={"condition": item.get("condition"), "epid": item.get("epid")},
        category=category_of(
            MarketType.EBAY, *(c.get("categoryId") for c in item.get("categories") or [])
        ),
    )


class EbayAdapter(Adapter):
    market = MarketType.EBAY

    async def search(
        self, http: httpx.AsyncClient, endpoint: Endpoint, query: MarketQuery
    ) -> list[Offer]:
        token = await application_token(http, endpoint.base_url, self.settings)
        response = await http.get(
            endpoint.url,
            params=search_params(query),
            headers={
                "Authorization": f"Bearer {token}",
                "X-EBAY-C-MARKETPLACE-ID": self.settings.ebay_marketplace_id,
            },
        )
        if response.status_code == 401:
            forget_token(endpoint.base_url, self.settings)  # revoked early: fetch anew next time
        data = read_json(response)
        return parse_each(data.get("itemSummaries", []), parse_item)
