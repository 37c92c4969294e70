"""Amazon: Product Advertising API 5.0 SearchItems, signed with AWS SigV4."""

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.config import Settings
from core.models.enums import DealSource, MarketType
from markets import sigv4
from markets.base import (
    Adapter,
    Endpoint,
    MarketError,
    MarketQuery,
    NotConfigured,
    Offer,
    money,
    parse_each,
    read_json,
)
from markets.categories import category_id, category_of

SERVICE = "ProductAdvertisingAPI"
TARGET = "com.amazon.paapi5.v1.ProductAdvertisingAPIv1.SearchItems"
RESOURCES = [
    "Images.Primary.Large",
    "ItemInfo.Title",
    "ItemInfo.Features",
    "ItemInfo.ByLineInfo",
    "ItemInfo.ExternalIds",
    "ItemInfo.ManufactureInfo",
    "ItemInfo.Classifications",
    "Offers.Listings.Price",
    "Offers.Listings.SavingBasis",
    "Offers.Listings.Availability.Message",
    "Offers.Listings.Availability.Type",
    "Offers.Listings.MerchantInfo",
    "Offers.Listings.DeliveryInfo.IsFreeShippingEligible",
    "CustomerReviews.StarRating",
    "BrowseNodeInfo.WebsiteSalesRank",
]


def search_body(settings: Settings, query: MarketQuery) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Keywords": query.keywords,
        "PartnerTag": settings.amazon_partner_tag,
        "PartnerType": "Associates",
        "Marketplace": settings.amazon_marketplace,
        "SearchIndex": category_id(MarketType.AMAZON, query.category) or "All",
        "ItemCount": max(1, min(query.limit, 10)),
        "Resources": RESOURCES,
    }
    if query.max_price is not None:
        body["MaxPrice"] = int(query.max_price * 100)  # in the currency's lowest denomination
    if query.min_discount is not None:
        body["MinSavingPercent"] = int(query.min_discount)
    return body


def signed_headers(settings: Settings, url: str, payload: bytes, now: datetime) -> dict[str, str]:
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "content-encoding": "amz-1.0",
        "content-type": "application/json; charset=utf-8",
        "host": parts.netloc,
        "x-amz-date": amz_date,
        "x-amz-target": TARGET,
    }
    headers["Authorization"] = sigv4.authorization(
        method="POST",
        path=parts.path or "/",
        headers=headers,
        payload=payload,
        access_key=settings.amazon_access_key or "",
        secret_key=settings.amazon_secret_key or "",
        region=settings.amazon_region,
        service=SERVICE,
        amz_date=amz_date,
    )
    return headers


def display(info: dict[str, Any], *path: str) -> Any:
    for key in path:
        info = info.get(key) or {}
    return info.get("DisplayValue") or info.get("DisplayValues") or None


def parse_item(item: dict[str, Any]) -> Offer | None:
    listings = (item.get("Offers") or {}).get("Listings") or []
    if not listings:
        return None  # no buyable offer
    listing = listings[0]
    info = item.get("ItemInfo") or {}
    ids = info.get("ExternalIds") or {}
    availability = (listing.get("Availability") or {}).get("Message")
    saving_basis = listing.get("SavingBasis") or {}
    features = display(info, "Features") or []
    rating = ((item.get("CustomerReviews") or {}).get("StarRating") or {}).get("Value")
    return Offer(
        market=MarketType.AMAZON,
        source=DealSource.AMAZON,
        item_id=item["ASIN"],
        title=display(info, "Title"),
        url=item["DetailPageURL"],
        current_price=money(listing["Price"]["Amount"]),
        currency=listing["Price"].get("Currency", "USD"),
        original_price=money(saving_basis.get("Amount")),
        image_url=(((item.get("Images") or {}).get("Primary") or {}).get("Large") or {}).get("URL"),
        description=" ".join(features) or None,
        seller_name=(listing.get("MerchantInfo") or {}).get("Name"),
        seller_rating=money(rating),
        available=(listing.get("Availability") or {}).get("Type") != "OutOfStock",
        availability=availability,
        shipping_info={
            "free_shipping": bool((listing.get("DeliveryInfo") or {}).get("IsFreeShippingEligible"))
        },
        product_specs={
            "brand": display(info, "ByLineInfo", "Brand"),
            "model": display(info, "ManufactureInfo", "Model"),
        },
        category=category_of(MarketType.AMAZON, display(info, "Classifications", "ProductGroup")),
        upc=((display(ids, "UPCs") or [None])[0]),
        gtin=((display(ids, "EANs") or [None])[0]),
        mpn=display(info, "ManufactureInfo", "Model"),
    )


class AmazonAdapter(Adapter):
    market = MarketType.AMAZON

    async def search(
        self, http: httpx.AsyncClient, endpoint: Endpoint, query: MarketQuery
    ) -> list[Offer]:
        s = self.settings
        if not (s.amazon_access_key and s.amazon_secret_key and s.amazon_partner_tag):
            raise NotConfigured("amazon_access_key/amazon_secret_key/amazon_partner_tag unset")
        payload = json.dumps(search_body(s, query)).encode()
        headers = signed_headers(s, endpoint.url, payload, datetime.now(UTC))
        response = await http.post(endpoint.url, content=payload, headers=headers)
        if response.status_code == 404 and "NoResults" in response.text:
            return []
        data = read_json(response)
        if (errors := data.get("Errors")) and "SearchResult" not in data:
            if errors[0].get("Code") == "NoResults":
                return []
            raise MarketError(f"{errors[0].get('Code')}: {errors[0].get('Message')}")
        items = (data.get("SearchResult") or {}).get("Items", [])
        return parse_each(items, parse_item)
