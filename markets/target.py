"""Target: no official API, so the JSON its own website's search calls (RedSky plp_search_v2);
product pages carry schema.org Product/Offer data (see markets/product_page.py)."""

import html
import re
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

import httpx

from core.models.enums import DealSource, MarketType
from markets.base import (
    Adapter,
    Endpoint,
    MalformedResponse,
    MarketQuery,
    NotConfigured,
    Offer,
    list_price,
    money,
    read_json,
)
from markets.categories import category_id, category_of

WEBSITE = "https://www.target.com"
DEFAULT_STORE = "3991"
DOLLARS = re.compile(r"\$\s*([\d,]+(?:\.\d+)?)")
TAG = re.compile(r"<[^>]*>")


def search_params(key: str, query: MarketQuery) -> dict[str, str]:
    params = {
        "key": key,
        "channel": "WEB",
        "keyword": query.keywords,
        "count": str(max(1, min(query.limit, 24))),
        "offset": "0",
        "page": f"/s/{query.keywords}",
        "platform": "desktop",
        "pricing_store_id": DEFAULT_STORE,
        "visitor_id": uuid.uuid4().hex.upper(),
        "default_purchasability_filter": "true",
    }
    if cat := category_id(MarketType.TARGET, query.category):
        params["category"] = cat
    return params


def shown_amounts(text: str | None) -> list[Decimal]:
    """The dollar amounts in one of Target's display strings ("$9.99 - $19.99")."""
    return [amount for value in DOLLARS.findall(text or "") if (amount := money(value))]


def current_price(price: dict[str, Any]) -> Decimal:
    """current_retail, else (a sale item may carry only display strings) the lowest amount
    in formatted_current_price ("$38.99", "$9.99 - $19.99")."""
    amount = money(price.get("current_retail") or price.get("current_retail_min"))
    if amount is None:
        amount = min(shown_amounts(price.get("formatted_current_price")), default=None)
    if amount is None:
        raise MalformedResponse("no current_retail and no formatted_current_price")
    return amount


def regular_price(price: dict[str, Any]) -> Decimal | None:
    amount = money(price.get("reg_retail") or price.get("reg_retail_min"))
    if amount is None and price.get("formatted_comparison_price_type") == "reg":
        amount = max(shown_amounts(price.get("formatted_comparison_price")), default=None)
    return amount


def plain(text: str) -> str:
    """RedSky's text as shown: titles carry HTML entities ("M&#38;M&#39;s"), bullets tags
    ("<B>Contains:</B> Milk")."""
    return html.unescape(TAG.sub("", text))


def item_type(item: dict[str, Any]) -> str | None:
    # The captured plp_search_v2 answer: product_classification.item_type.name.
    classification = item.get("product_classification") or {}
    return (
        (classification.get("item_type") or {}).get("name")
        or (item.get("item_type") or {}).get("name")
        or classification.get("product_type_name")
    )


def image(enrichment: dict[str, Any]) -> str | None:
    # A captured plp_search_v2 answer (2024) has images.primary_image_url; issue 16 read
    # image_info.primary_image.url in v2. Both are read.
    primary = ((enrichment.get("image_info") or {}).get("primary_image")) or {}
    return primary.get("url") or (enrichment.get("images") or {}).get("primary_image_url")


def parse_product(product: dict[str, Any], base: str) -> Offer:
    item = product["item"]
    price = product["price"]
    description = item.get("product_description") or {}
    enrichment = item.get("enrichment") or {}
    statistics = (product.get("ratings_and_reviews") or {}).get("statistics") or {}
    fulfillment = product.get("fulfillment") or {}
    category = product.get("category") or {}
    current = current_price(price)
    sold_out = bool(fulfillment.get("is_out_of_stock_in_all_store_locations")) and bool(
        fulfillment.get("sold_out")
    )
    return Offer(
        market=MarketType.TARGET,
        source=DealSource.SCRAPER,
        item_id=str(product["tcin"]),
        title=plain(description["title"]),
        url=urljoin(base, enrichment["buy_url"]),
        current_price=current,
        original_price=list_price(current, regular_price(price)),
        image_url=image(enrichment),
        description=" ".join(map(plain, description.get("bullet_descriptions") or [])) or None,
        seller_name="Target",
        seller_rating=money((statistics.get("rating") or {}).get("average")),
        available=not sold_out,
        availability="Out of stock" if sold_out else "In stock",
        shipping_info={"free_shipping_min": fulfillment.get("shipping_minimum")},
        product_specs={
            "brand": (item.get("primary_brand") or {}).get("name"),
            "type": item_type(item),
        },
        category=category_of(
            MarketType.TARGET,
            category.get("category_id"),
            category.get("parent_category_id"),
            product.get("category_id"),
        ),
        upc=item.get("primary_barcode"),
        mpn=item.get("mpn"),
    )


class TargetAdapter(Adapter):
    market = MarketType.TARGET

    async def search(
        self, http: httpx.AsyncClient, endpoint: Endpoint, query: MarketQuery
    ) -> list[Offer]:
        key = self.settings.target_api_key or endpoint.api_key
        if not key:
            raise NotConfigured("target_api_key unset (and no api_key on the markets row)")
        data = read_json(await http.get(endpoint.url, params=search_params(key, query)))
        products = (((data.get("data") or {}).get("search")) or {}).get("products", [])
        # buy_url is absolute on target.com; relative ones resolve against the endpoint's host.
        return self.parse_each(products, lambda p: parse_product(p, endpoint.base_url))
