"""eBay: Browse API item_summary/search with an OAuth client-credentials application token;
with an eBay Partner Network campaign, the end-user-context header and affiliate URLs."""

from typing import Any
from urllib.parse import quote

import httpx

from core.config import Settings
from core.models.enums import DealSource, MarketType
from markets import oauth
from markets.base import (
    Adapter,
    Endpoint,
    MalformedResponse,
    MarketQuery,
    NotConfigured,
    Offer,
    money,
    rating,
    read_json,
)
from markets.categories import category_id, category_of

TOKEN_PATH = "/identity/v1/oauth2/token"
SCOPE = "https://api.ebay.com/oauth/api_scope"


def token_url(base_url: str) -> str:
    return base_url.rstrip("/") + TOKEN_PATH


async def application_token(http: httpx.AsyncClient, base_url: str, settings: Settings) -> str:
    if not (settings.ebay_client_id and settings.ebay_client_secret):
        raise NotConfigured("ebay_client_id/ebay_client_secret unset")
    return await oauth.client_token(
        http, token_url(base_url), settings.ebay_client_id, settings.ebay_client_secret, SCOPE
    )


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


def end_user_context(settings: Settings) -> str | None:
    """X-EBAY-C-ENDUSERCTX: with it, eBay returns itemAffiliateWebUrl, tracked for EPN."""
    if not settings.ebay_campaign_id:
        return None
    parts = [f"affiliateCampaignId={quote(settings.ebay_campaign_id, safe='')}"]
    if settings.ebay_affiliate_reference_id:
        parts.append(f"affiliateReferenceId={quote(settings.ebay_affiliate_reference_id, safe='')}")
    return ",".join(parts)


def request_headers(settings: Settings, token: str) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {token}",
        "X-EBAY-C-MARKETPLACE-ID": settings.ebay_marketplace_id,
    }
    if context := end_user_context(settings):
        headers["X-EBAY-C-ENDUSERCTX"] = context
    return headers


def auction_only(item: dict[str, Any]) -> bool:
    options = item.get("buyingOptions") or []
    return "AUCTION" in options and "FIXED_PRICE" not in options


def parse_item(item: dict[str, Any], affiliate: bool = False) -> Offer:
    """An auction-only item has no `price`, only its current bid (`currentBidPrice`): the
    offer is that bid, marked as an auction (bids, end) and never as a fixed price."""
    auction = auction_only(item)
    price = (item.get("currentBidPrice") if auction else None) or item.get("price")
    if not price or money(price.get("value")) is None:
        raise MalformedResponse(f"item {item.get('itemId')} has neither price nor current bid")
    marketing = item.get("marketingPrice") or {}
    categories = item.get("categories") or []
    seller = item.get("seller") or {}
    shipping = (item.get("shippingOptions") or [{}])[0]
    url = (affiliate and item.get("itemAffiliateWebUrl")) or item["itemWebUrl"]
    specs: dict[str, Any] = {"condition": item.get("condition"), "epid": item.get("epid")}
    availability = item.get("condition")
    if auction:
        specs |= {"auction": True, "bid_count": item.get("bidCount", 0)}
        specs["ends_at"] = item.get("itemEndDate")
        availability = f"Auction, {specs['bid_count']} bids, ends {specs['ends_at'] or '?'}"
    return Offer(
        market=MarketType.EBAY,
        source=DealSource.EBAY,
        item_id=item["itemId"],
        title=item["title"],
        url=url,
        current_price=money(price["value"]),
        currency=price.get("currency", "USD"),
        original_price=None
        if auction
        else money((marketing.get("originalPrice") or {}).get("value")),
        image_url=(item.get("image") or {}).get("imageUrl"),
        description=item.get("shortDescription"),
        seller_name=seller.get("username"),
        seller_rating=rating(seller.get("feedbackPercentage"), scale=money(100)),
        available=True,  # eBay lists only items still for sale
        availability=availability,
        shipping_info={
            "cost": (shipping.get("shippingCost") or {}).get("value"),
            "type": shipping.get("shippingCostType"),
        },
        product_specs=specs,
        category=category_of(
            MarketType.EBAY,
            *(c.get("categoryId") for c in categories),
            names=[c.get("categoryName") or "" for c in categories],
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
            headers=request_headers(self.settings, token),
        )
        if response.status_code == 401:  # revoked early: fetch anew next time
            oauth.forget(token_url(endpoint.base_url), self.settings.ebay_client_id or "")
        data = read_json(response)
        affiliate = bool(self.settings.ebay_campaign_id)
        return self.parse_each(
            data.get("itemSummaries", []), lambda item: parse_item(item, affiliate)
        )
