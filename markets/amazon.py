"""Amazon: SearchItems on the Creators API (OAuth 2.0, lowerCamelCase; PA-API 5.0's
successor) when its credential is set, else on PA-API 5.0 (SigV4, PascalCase). Both are
asked for OffersV2, which replaces the deprecated Offers; one parser reads both answers,
since they differ only in the case of the names."""

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from core.config import Settings
from core.models.enums import DealSource, MarketType
from markets import oauth, sigv4
from markets.base import (
    Adapter,
    Endpoint,
    MalformedResponse,
    MarketError,
    MarketQuery,
    NotConfigured,
    Offer,
    RemoteRateLimited,
    money,
    read_json,
    retry_after,
)
from markets.categories import category_id, category_of

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
THROTTLED = "TooManyRequests"
SIZES = ("large", "medium", "small")  # the largest image the answer has


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


def lowered(value: Any) -> Any:
    """Every key lower-cased, so PA-API's ItemInfo and the Creators API's itemInfo agree."""
    if isinstance(value, dict):
        return {key.lower(): lowered(item) for key, item in value.items()}
    if isinstance(value, list):
        return [lowered(item) for item in value]
    return value


def display(info: dict[str, Any], *path: str) -> Any:
    for key in path:
        info = info.get(key) or {}
    return info.get("displayvalue") or info.get("displayvalues") or None


def tagged(url: str, partner_tag: str | None) -> str:
    """Amazon's links carry the partner tag already; one that does not gets it."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not partner_tag or any(key == "tag" for key, _ in query):
        return url
    return urlunsplit(parts._replace(query=urlencode([*query, ("tag", partner_tag)])))


def listing_of(item: dict[str, Any]) -> tuple[dict[str, Any], Any, Any] | None:
    """(listing, price money, list price money): OffersV2's buy-box winner, else its first
    listing; an answer still in the retired Offers shape is read too."""
    listings = (item.get("offersv2") or {}).get("listings") or []
    if listings:
        listing = next((x for x in listings if x.get("isbuyboxwinner")), listings[0])
        price = listing.get("price") or {}
        basis = (price.get("savingbasis") or {}).get("money") or {}
        return listing, price.get("money") or {}, basis
    listings = (item.get("offers") or {}).get("listings") or []
    if listings:
        listing = listings[0]
        return listing, listing.get("price") or {}, listing.get("savingbasis") or {}
    return None


def primary_image(item: dict[str, Any]) -> str | None:
    primary = (item.get("images") or {}).get("primary") or {}
    return next(
        (primary[size]["url"] for size in SIZES if (primary.get(size) or {}).get("url")), None
    )


def in_stock(availability: dict[str, Any]) -> bool:
    # OffersV2 says IN_STOCK / OUT_OF_STOCK / ...; the retired Offers said Now / OutOfStock.
    return str(availability.get("type") or "").replace("_", "").lower() != "outofstock"


def parse_item(raw: dict[str, Any], partner_tag: str | None = None) -> Offer | None:
    item = lowered(raw)
    found = listing_of(item)
    if found is None:
        return None  # no buyable offer
    listing, price, basis = found
    current = money(price.get("amount"))
    if current is None:
        raise MalformedResponse(f"ASIN {item.get('asin')}: a listing without a price")
    info = item.get("iteminfo") or {}
    ids = info.get("externalids") or {}
    availability = listing.get("availability") or {}
    features = display(info, "features") or []
    nodes = (item.get("browsenodeinfo") or {}).get("browsenodes") or []
    group = display(info, "classifications", "productgroup")
    return Offer(
        market=MarketType.AMAZON,
        source=DealSource.AMAZON,
        item_id=item["asin"],
        title=display(info, "title"),
        url=tagged(item["detailpageurl"], partner_tag),
        current_price=current,
        currency=price.get("currency", "USD"),
        original_price=money(basis.get("amount")),
        image_url=primary_image(item),
        description=" ".join(features) or None,
        seller_name=(listing.get("merchantinfo") or {}).get("name"),
        available=in_stock(availability),
        availability=availability.get("message") or availability.get("type"),
        shipping_info={"condition": (listing.get("condition") or {}).get("value")},
        product_specs={
            "brand": display(info, "bylineinfo", "brand"),
            "model": display(info, "manufactureinfo", "model"),
            "deal": listing.get("type"),
        },
        category=category_of(
            MarketType.AMAZON,
            names=[group or "", *(n.get("contextfreename") or "" for n in nodes)],
        ),
        upc=((display(ids, "upcs") or [None])[0]),
        gtin=((display(ids, "eans") or [None])[0]),
        mpn=display(info, "manufactureinfo", "model"),
    )


def raise_for_errors(data: dict[str, Any]) -> None:
    """An answer of errors only: NoResults is an empty search; TooManyRequests a rate limit."""
    errors = data.get("errors")
    if not errors or "searchresult" in data:
        return
    code, message = errors[0].get("code"), errors[0].get("message")
    if code == THROTTLED:
        raise RemoteRateLimited(f"{code}: {message}")
    raise MarketError(f"{code}: {message}")


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
        data = lowered(read_json(response))
        if not isinstance(data, dict):
            raise MalformedResponse("the answer is not a JSON object")
        errors = data.get("errors") or []
        if errors and errors[0].get("code") == "NoResults" and "searchresult" not in data:
            return []
        raise_for_errors(data)
        items = (data.get("searchresult") or {}).get("items", [])
        tag = self.settings.amazon_partner_tag
        return self.parse_each(items, lambda item: parse_item(item, tag))
