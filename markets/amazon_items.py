"""Reading Amazon's SearchItems answers: PA-API 5.0 (PascalCase) and the Creators API
(lowerCamelCase) differ only in the case of the names, so keys are lower-cased first and
one parser reads both. OffersV2 is read; the retired Offers too, should an answer have it."""

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.models.enums import DealSource, MarketType
from markets.base import MalformedResponse, MarketError, Offer, RemoteRateLimited, money
from markets.categories import category_of

THROTTLED = "TooManyRequests"
SIZES = ("large", "medium", "small")  # the largest image the answer has


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


def search_items(data: Any) -> Any:
    """The items of a (key-lowered) SearchItems answer. An answer of errors only: NoResults
    is an empty search, TooManyRequests a rate limit, anything else a market error."""
    if not isinstance(data, dict):
        raise MalformedResponse("the answer is not a JSON object")
    errors = data.get("errors") or []
    if errors and "searchresult" not in data:
        code, message = errors[0].get("code"), errors[0].get("message")
        if code == "NoResults":
            return []
        if code == THROTTLED:
            raise RemoteRateLimited(f"{code}: {message}")
        raise MarketError(f"{code}: {message}")
    return (data.get("searchresult") or {}).get("items", [])
