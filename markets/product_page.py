"""Any product page's schema.org Product/Offer data: JSON-LD first, then microdata,
then OpenGraph, read with extruct."""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

import extruct
import httpx

from markets.base import MarketError, money

SYNTAXES = ["json-ld", "microdata", "opengraph"]
MAX_PAGE_BYTES = 5_000_000
MAX_REDIRECTS = 5


class NotAProductPage(MarketError):
    """The page carries no schema.org Product with a price."""


class ForbiddenAddress(MarketError):
    """The URL leads to a private, loopback or link-local address."""


class PageGone(MarketError):
    """The page answered 404 or 410: the product was delisted."""


class PageTimeout(MarketError):
    """The page did not arrive, whole, within the fetch's deadline."""


@dataclass(frozen=True)
class ProductPage:
    url: str
    title: str
    price: Decimal
    currency: str = "USD"
    original_price: Decimal | None = None
    available: bool = True
    availability: str | None = None
    description: str | None = None
    image_url: str | None = None
    brand: str | None = None
    seller_name: str | None = None
    gtin: str | None = None
    mpn: str | None = None
    sku: str | None = None


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type") or node.get("type") or []
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in kinds}


def _walk(node: Any) -> Any:
    """Every dict inside a JSON-LD document (graphs and nested lists included)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _text(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = _props(value)
        value = value.get("name") or value.get("url") or value.get("@id")
    return None if value is None else str(value).strip() or None


def _props(node: dict[str, Any]) -> dict[str, Any]:
    """JSON-LD nodes hold properties directly; microdata nodes under 'properties'."""
    return node.get("properties", node)


def _offer(product: dict[str, Any]) -> dict[str, Any] | None:
    offers = _first(product.get("offers"))
    if not isinstance(offers, dict):
        return None
    offers = _props(offers)
    if "AggregateOffer" in _types(offers) and "price" not in offers:
        return {**offers, "price": offers.get("lowPrice")}
    return offers


def from_schema_org(url: str, product: dict[str, Any]) -> ProductPage | None:
    product = _props(product)
    offer = _offer(product)
    if not offer or offer.get("price") in (None, ""):
        return None
    availability = _text(offer.get("availability"))
    listed = _first(offer.get("priceSpecification"))
    original = None
    if isinstance(listed, dict) and _props(listed).get("priceType", "").endswith("ListPrice"):
        original = money(_props(listed).get("price"))
    gtin = next(
        (
            _text(product.get(k))
            for k in ("gtin13", "gtin12", "gtin14", "gtin8", "gtin")
            if product.get(k)
        ),
        None,
    )
    return ProductPage(
        url=url,  # the address it was fetched from, so refreshing it finds the same deal
        title=_text(product.get("name")) or url,
        price=money(offer["price"]),
        currency=_text(offer.get("priceCurrency")) or "USD",
        original_price=original,
        available=not availability
        or availability.rsplit("/", 1)[-1]
        in {"InStock", "LimitedAvailability", "OnlineOnly", "PreOrder", "InStoreOnly"},
        availability=availability.rsplit("/", 1)[-1] if availability else None,
        description=_text(product.get("description")),
        image_url=_text(product.get("image")),
        brand=_text(product.get("brand")),
        seller_name=_text(offer.get("seller")),
        gtin=gtin,
        mpn=_text(product.get("mpn")),
        sku=_text(product.get("sku")),
    )


def from_opengraph(url: str, og: list[dict[str, Any]]) -> ProductPage | None:
    for node in og:
        props = dict(node.get("properties", []))
        price = props.get("product:price:amount") or props.get("og:price:amount")
        if price and props.get("og:title"):
            return ProductPage(
                url=url,
                seller_name=props.get("og:site_name"),
                title=props["og:title"],
                price=money(price),
                currency=props.get("product:price:currency")
                or props.get("og:price:currency", "USD"),
                description=props.get("og:description"),
                image_url=props.get("og:image"),
                availability=props.get("product:availability"),
                available=props.get("product:availability", "instock").replace(" ", "")
                in {"instock", "in_stock", "available"},
            )
    return None


def parse_product_page(url: str, html: str) -> ProductPage:
    data = extruct.extract(html, base_url=url, syntaxes=SYNTAXES, uniform=False, errors="ignore")
    for syntax in ("json-ld", "microdata"):
        for node in _walk(data.get(syntax, [])):
            if "Product" in _types(node) and (page := from_schema_org(url, node)):
                return page
    if page := from_opengraph(url, data.get("opengraph", [])):
        return page
    raise NotAProductPage(f"no schema.org Product with a price at {url}")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def public_address(
    url: str, trusted_origins: frozenset[str], allow_private: bool
) -> str | None:
    """The checked address to connect to for `url`, or None to connect by name.

    Refuses URLs that lead inside this machine's network (a server fetching what a chat
    names must not become a way in), unless the origin is a configured market's. The
    caller connects to the address returned, so a name that resolves differently the
    second time (DNS rebinding) cannot lead elsewhere."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForbiddenAddress(f"not an http(s) URL: {url!r}")
    if allow_private or origin(url) in trusted_origins:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port)
    except socket.gaierror as error:
        raise MarketError(f"cannot resolve {parts.hostname}: {error}") from error
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses or not all(address.is_global for address in addresses):
        raise ForbiddenAddress(f"{parts.hostname} is not a public address")
    return str(addresses[0])


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The request for `url` sent to `address`: the URL with the address for its host, and
    the name kept where the server and TLS look for it (the Host header and SNI)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1]}
    return parts._replace(netloc=netloc).geturl(), headers, {"sni_hostname": parts.hostname}


async def fetch_product_page(
    http: httpx.AsyncClient,
    url: str,
    *,
    trusted_origins: frozenset[str] = frozenset(),
    allow_private: bool = False,
    timeout_s: float,
) -> ProductPage:
    """Fetch and parse a product page, following redirects one checked hop at a time and
    reading at most MAX_PAGE_BYTES, all within `timeout_s` (PAGE_FETCH_TIMEOUT_S): httpx's
    timeouts bound each read, and a page sent one byte at a time never trips them."""
    try:
        async with asyncio.timeout(timeout_s):
            return await _fetch(http, url, trusted_origins, allow_private)
    except TimeoutError:
        raise PageTimeout(f"no complete page from {url} within {timeout_s:g} s") from None


async def _fetch(
    http: httpx.AsyncClient, url: str, trusted_origins: frozenset[str], allow_private: bool
) -> ProductPage:
    for _ in range(MAX_REDIRECTS + 1):
        address = await public_address(url, trusted_origins, allow_private)
        target, headers, extensions = pinned(url, address) if address else (url, {}, {})
        headers["Accept"] = "text/html"
        try:
            async with http.stream(
                "GET", target, headers=headers, extensions=extensions
            ) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code in (404, 410):
                    raise PageGone(f"HTTP {response.status_code} at {url}")
                if response.status_code >= 400:
                    raise MarketError(f"HTTP {response.status_code} at {url}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_PAGE_BYTES:
                        raise NotAProductPage(f"page larger than {MAX_PAGE_BYTES} bytes")
                html = body.decode(response.encoding or "utf-8", errors="replace")
                return parse_product_page(url, html)
        except httpx.HTTPError as error:
            raise MarketError(f"could not fetch {url}: {type(error).__name__} {error}") from error
    raise MarketError(f"more than {MAX_REDIRECTS} redirects from {url}")
