"""Walmart: the affiliate Product Search API (v2), requests signed with the consumer's RSA key."""

import base64
import functools
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.config import Settings
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

PUBID = "|PUBID|"


def signature_input(consumer_id: str, timestamp_ms: str, key_version: str) -> bytes:
    # Walmart signs the sorted header values, each followed by a newline.
    return f"{consumer_id}\n{timestamp_ms}\n{key_version}\n".encode()


@functools.lru_cache(maxsize=4)
def private_key(pem: str) -> rsa.RSAPrivateKey:
    """Loaded once: loading checks the key, which costs far more than signing with it."""
    key = serialization.load_pem_private_key(pem.encode(), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise NotConfigured("walmart_private_key is not an RSA key")
    return key


def auth_headers(settings: Settings, now_ms: int) -> dict[str, str]:
    if not (settings.walmart_consumer_id and settings.walmart_private_key):
        raise NotConfigured("walmart_consumer_id/walmart_private_key unset")
    key = private_key(settings.walmart_private_key)
    stamp = str(now_ms)
    message = signature_input(settings.walmart_consumer_id, stamp, settings.walmart_key_version)
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "WM_CONSUMER.ID": settings.walmart_consumer_id,
        "WM_CONSUMER.INTIMESTAMP": stamp,
        "WM_SEC.KEY_VERSION": settings.walmart_key_version,
        "WM_SEC.AUTH_SIGNATURE": base64.b64encode(signature).decode(),
    }


def search_params(settings: Settings, query: MarketQuery) -> dict[str, str]:
    params = {"query": query.keywords, "numItems": str(max(1, min(query.limit, 25)))}
    if cat := category_id(MarketType.WALMART, query.category):
        params["categoryId"] = cat
    if query.max_price is not None:
        params["facet"] = "on"
        params["facet.range"] = f"price:[0 TO {query.max_price}]"
    if settings.walmart_publisher_id:
        params["publisherId"] = settings.walmart_publisher_id
    return params


def link(item: dict[str, Any], publisher: str | None) -> str:
    """productTrackingUrl is the link v2 documents, with |PUBID| standing for the publisher's
    Impact id, which we put in when we have one; productUrl, where an answer still has it,
    is the plain link. A tracking link without |PUBID| (the retired LinkShare form carries
    "{Your LinkShare Publisher Id}") cannot take our id, so the plain link wins then."""
    tracking, plain = item.get("productTrackingUrl"), item.get("productUrl")
    if publisher and tracking and PUBID in tracking:
        return tracking.replace(PUBID, publisher)
    if not (plain or tracking):
        raise MalformedResponse(f"item {item.get('itemId')} has no productTrackingUrl")
    return plain or tracking


def parse_item(item: dict[str, Any], publisher: str | None = None) -> Offer:
    stock = item.get("stock")
    current = money(item["salePrice"])
    if current is None:
        raise MalformedResponse(f"item {item.get('itemId')} has no salePrice")
    department = str(item.get("categoryNode", "")).split("_")[0]
    return Offer(
        market=MarketType.WALMART,
        source=DealSource.WALMART,
        item_id=str(item["itemId"]),
        title=item["name"],
        url=link(item, publisher),
        current_price=current,
        original_price=list_price(current, money(item.get("msrp"))),
        image_url=item.get("largeImage") or item.get("mediumImage"),
        description=item.get("shortDescription"),
        seller_name=item.get("sellerInfo") or "Walmart.com",
        seller_rating=money(item.get("customerRating")),
        available=stock != "Not available" and item.get("availableOnline", True),
        availability=stock,
        shipping_info={
            "standard_rate": item.get("standardShipRate"),
            "two_day": item.get("isTwoDayShippingEligible"),
        },
        product_specs={"brand": item.get("brandName"), "model": item.get("modelNumber")},
        category=category_of(
            MarketType.WALMART, department, names=str(item.get("categoryPath") or "").split("/")
        ),
        upc=item.get("upc"),
        mpn=item.get("modelNumber"),
    )


class WalmartAdapter(Adapter):
    market = MarketType.WALMART

    async def search(
        self, http: httpx.AsyncClient, endpoint: Endpoint, query: MarketQuery
    ) -> list[Offer]:
        headers = auth_headers(self.settings, int(time.time() * 1000))
        response = await http.get(
            endpoint.url, params=search_params(self.settings, query), headers=headers
        )
        data = read_json(response)
        publisher = self.settings.walmart_publisher_id
        return self.parse_each(data.get("items", []), lambda item: parse_item(item, publisher))
