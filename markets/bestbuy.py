"""Best Buy: the Products API, searched with its parenthesised attribute query."""

import re
from typing import Any

import httpx

from core.models.enums import DealSource, MarketType
from markets.base import (
    Adapter,
    Endpoint,
    MalformedResponse,
    MarketError,
    MarketQuery,
    NotConfigured,
    Offer,
    RemoteRateLimited,
    list_price,
    money,
    read_json,
    retry_after,
)
from markets.categories import category_id, category_of

SHOW = (
    "sku,name,salePrice,regularPrice,onSale,percentSavings,url,image,upc,modelNumber,"
    "manufacturer,customerReviewAverage,onlineAvailability,freeShipping,shippingCost,"
    "categoryPath.id,categoryPath.name,shortDescription"
)


def search_path(endpoint: Endpoint, query: MarketQuery) -> str:
    """e.g. /v1/products(search=4k&search=monitor&salePrice<=300)"""
    # The API's search terms are alphanumeric: 27-inch is searched as 27 and inch.
    terms = [f"search={word}" for word in re.findall(r"[^\W_]+", query.keywords)]
    terms = terms or ["search=*"]
    if query.max_price is not None:
        terms.append(f"salePrice<={query.max_price}")
    if query.min_discount is not None:
        terms.append(f"percentSavings>={query.min_discount}")
    if cat := category_id(MarketType.BESTBUY, query.category):
        terms.append(f"categoryPath.id={cat}")
    return f"{endpoint.url}({'&'.join(terms)})"


# Best Buy documents 403 as "the allocated call limit is exceeded"; the API gateway says
# which limit (per second or per day) in its body or X-Mashery-Error-Code header.
OVER_LIMIT = re.compile(r"over (qps|rate)|call limit|over quota|limit exceeded", re.IGNORECASE)


def read_answer(response: httpx.Response) -> Any:
    if response.status_code == 403:
        said = f"{response.headers.get('x-mashery-error-code', '')} {response.text[:300]}"
        if OVER_LIMIT.search(said) or "OVER_QPS" in said or "OVER_RATE" in said:
            raise RemoteRateLimited(f"HTTP 403: {response.text[:200]}", retry_after(response))
        raise MarketError(f"HTTP 403: {response.text[:200]}")
    return read_json(response)


def cost(value: Any) -> str | None:
    """shippingCost as text ("" in Best Buy's answers when there is none)."""
    amount = money(value)
    return None if amount is None else str(amount)


def parse_item(item: dict[str, Any]) -> Offer:
    sale = money(item["salePrice"])
    if sale is None:
        raise MalformedResponse(f"sku {item.get('sku')} has no salePrice")
    return Offer(
        market=MarketType.BESTBUY,
        source=DealSource.BESTBUY,
        item_id=str(item["sku"]),
        title=item["name"],
        url=item["url"],
        current_price=sale,
        original_price=list_price(sale, money(item.get("regularPrice"))),
        image_url=item.get("image") or None,
        description=item.get("shortDescription") or None,
        seller_name="Best Buy",
        seller_rating=money(item.get("customerReviewAverage")),
        available=bool(item.get("onlineAvailability")),
        availability="In Stock" if item.get("onlineAvailability") else "Sold Out",
        shipping_info={
            "free_shipping": item.get("freeShipping"),
            "cost": cost(item.get("shippingCost")),
        },
        product_specs={
            "brand": item.get("manufacturer") or None,
            "model": item.get("modelNumber") or None,
        },
        category=category_of(
            MarketType.BESTBUY, *(c.get("id") for c in item.get("categoryPath") or [])
        ),
        upc=item.get("upc") or None,
        mpn=item.get("modelNumber") or None,
    )


class BestBuyAdapter(Adapter):
    market = MarketType.BESTBUY

    async def search(
        self, http: httpx.AsyncClient, endpoint: Endpoint, query: MarketQuery
    ) -> list[Offer]:
        key = self.settings.bestbuy_api_key or endpoint.api_key
        if not key:
            raise NotConfigured("bestbuy_api_key unset")
        params = {
            "apiKey": key,
            "format": "json",
            "show": SHOW,
            "pageSize": str(max(1, min(query.limit, 100))),
        }
        data = read_answer(await http.get(search_path(endpoint, query), params=params))
        return self.parse_each(data.get("products", []), parse_item)
