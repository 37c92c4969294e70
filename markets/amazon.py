"""Amazon: SearchItems on the Creators API (OAuth 2.0, lowerCamelCase; PA-API 5.0's
successor) when its credential is set, else on PA-API 5.0 (SigV4, PascalCase). Both are
asked for OffersV2, which replaces the deprecated Offers; markets/amazon_items.py reads
both answers."""

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.config import Settings
from core.models.enums import MarketType
from markets import oauth, sigv4
from markets.amazon_items import THROTTLED, lowered, parse_item, search_items
from markets.base import (
    Adapter,
    Endpoint,
    MarketQuery,
    NotConfigured,
    Offer,
    RemoteRateLimited,
    read_json,
    retry_after,
)
from markets.categories import category_id

SERVICE = "ProductAdvertisingAPI"
TARGET = "com.amazon.paapi5.v1.ProductAdvertisingAPIv1.SearchItems"
CREATORS_SCOPE = "creatorsapi/default"
# Creators API names; PA-API 5.0 takes the same with a capital first letter.
RESOURCES = [
    "images.primary.large",
    "itemInfo.title",
    "itemInfo.features",
    "itemInfo.byLineInfo",
    "itemInfo.externalIds",
    "itemInfo.manufactureInfo",
    "itemInfo.classifications",
    "browseNodeInfo.browseNodes",
    "offersV2.listings.price",
    "offersV2.listings.availability",
    "offersV2.listings.condition",
    "offersV2.listings.merchantInfo",
    "offersV2.listings.isBuyBoxWinner",
    "offersV2.listings.type",
]


def creators_api(settings: Settings) -> bool:
    return bool(settings.amazon_credential_id and settings.amazon_credential_secret)


def search_body(settings: Settings, query: MarketQuery) -> dict[str, Any]:
    """The SearchItems body in the Creators API's names (lowerCamelCase)."""
    body: dict[str, Any] = {
        "keywords": query.keywords,
        "partnerTag": settings.amazon_partner_tag,
        "partnerType": "Associates",
        "marketplace": settings.amazon_marketplace,
        "searchIndex": category_id(MarketType.AMAZON, query.category) or "All",
        "itemCount": max(1, min(query.limit, 10)),
        "resources": RESOURCES,
    }
    if query.max_price is not None:
        body["maxPrice"] = int(query.max_price * 100)  # in the currency's lowest denomination
    if query.min_discount is not None:
        body["minSavingPercent"] = int(query.min_discount)
    return body


def capitalized(value: Any) -> Any:
    """PA-API 5.0's names: the same body with every key and resource capitalized."""
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: capitalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [".".join(p[:1].upper() + p[1:] for p in v.split(".")) for v in value]
    return value


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


class AmazonAdapter(Adapter):
    market = MarketType.AMAZON

    async def search(
        self, http: httpx.AsyncClient, endpoint: Endpoint, query: MarketQuery
    ) -> list[Offer]:
        s = self.settings
        if not s.amazon_partner_tag:
            raise NotConfigured("amazon_partner_tag unset")
        if creators_api(s):
            response = await self.creators_search(http, query)
        elif s.amazon_access_key and s.amazon_secret_key:
            payload = json.dumps(capitalized(search_body(s, query))).encode()
            headers = signed_headers(s, endpoint.url, payload, datetime.now(UTC))
            response = await http.post(endpoint.url, content=payload, headers=headers)
        else:
            raise NotConfigured(
                "neither amazon_credential_id/amazon_credential_secret (Creators API) nor "
                "amazon_access_key/amazon_secret_key (PA-API 5.0) set"
            )
        return self.read(response)

    async def creators_search(self, http: httpx.AsyncClient, query: MarketQuery) -> httpx.Response:
        s = self.settings
        client_id, secret = s.amazon_credential_id or "", s.amazon_credential_secret or ""
        token = await oauth.client_token(
            http, s.amazon_token_url, client_id, secret, CREATORS_SCOPE
        )
        response = await http.post(
            s.amazon_creators_url,
            json=search_body(s, query),
            headers={
                "Authorization": f"Bearer {token}, Version {s.amazon_credential_version}",
                "x-marketplace": s.amazon_marketplace,
            },
        )
        if response.status_code == 401:  # expired or revoked early: a new token next time
            oauth.forget(s.amazon_token_url, client_id)
        return response

    def read(self, response: httpx.Response) -> list[Offer]:
        if response.status_code == 404 and "NoResults" in response.text:
            return []
        if response.status_code >= 400 and THROTTLED in response.text:
            raise RemoteRateLimited(
                f"HTTP {response.status_code}: {THROTTLED}", retry_after(response)
            )
        items = search_items(lowered(read_json(response)))
        tag = self.settings.amazon_partner_tag
        return self.parse_each(items, lambda item: parse_item(item, tag))
