"""Any product page's price, currency and stock, read from every signal the page offers,
in order of trust: JSON-LD, microdata/RDFa, OpenGraph/product meta tags, then the visible
page (markets.page_visible). Each field keeps the source it came from and a confidence."""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, partial
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from lxml import etree

from markets import page_money, page_stock, page_visible
from markets.base import MarketError
from markets.page_structured import (
    Found,
    OfferSeen,
    from_json_ld,
    from_meta,
    from_microdata,
    meta_tags,
)

MAX_PAGE_BYTES = 5_000_000
MAX_REDIRECTS = 5
# How far each source is trusted: what the shop states for machines above what it shows.
CONFIDENCE = {
    "json-ld": 0.95,
    "microdata": 0.9,
    "meta": 0.85,
    "visible": 0.7,
    "domain": 0.5,
    "default": 0.2,
}


class NotAProductPage(MarketError):
    """The page shows no product: no product data, no price and no stock message."""


class ForbiddenAddress(MarketError):
    """The URL leads to a private, loopback or link-local address."""


class PageGone(MarketError):
    """The page answered 404 or 410: the product was delisted."""


class PageTimeout(MarketError):
    """The page did not arrive, whole, within the fetch's deadline."""


@dataclass(frozen=True)
class FieldSource:
    source: str  # json-ld, microdata, meta, visible, domain, or default (USD)
    confidence: float


@dataclass(frozen=True)
class ProductPage:
    """A product page as read. `price` is None when the page shows none (sold out, or
    not sold at the moment): the page is still a product to watch for a restock."""

    url: str
    title: str
    price: Decimal | None
    currency: str = "USD"
    original_price: Decimal | None = None
    available: bool = True
    availability: str | None = None  # InStock, OutOfStock, or None: the page does not say
    description: str | None = None
    image_url: str | None = None
    brand: str | None = None
    seller_name: str | None = None
    gtin: str | None = None
    mpn: str | None = None
    sku: str | None = None
    sources: dict[str, FieldSource] = field(default_factory=dict)


def _best_offer(offers: list[OfferSeen]) -> OfferSeen | None:
    """The lowest-priced offer in stock, else the lowest-priced one; stock as the best
    offer states it, else as any offer does."""
    priced = [o for o in offers if o.price is not None]
    in_stock = [o for o in priced if o.availability == page_stock.IN_STOCK]
    best = min(in_stock or priced, key=lambda o: o.price or 0, default=None)
    stocks = [o.availability for o in offers if o.availability]
    stock = (best.availability if best else None) or (
        page_stock.IN_STOCK if page_stock.IN_STOCK in stocks else next(iter(stocks), None)
    )
    if best is None:
        return OfferSeen(offers[0].source, availability=stock) if stocks else None
    original = best.original or next((o.original for o in offers if o.original), None)
    return OfferSeen(best.source, best.price, best.currency, stock, original)


def _sale_over_list(chosen: OfferSeen, meta: OfferSeen | None) -> OfferSeen:
    """JSON-LD with the list price while the product meta tags state a lower sale price in
    the same currency: the sale price is what one pays. (Microdata beside a lower meta
    price is a chosen variant beside the cheapest one, and stays.)"""
    if meta is None or meta.price is None or chosen.price is None:
        return chosen
    if chosen.source != "json-ld" and meta.original != chosen.price:
        return chosen
    if meta.price < chosen.price and (meta.currency or chosen.currency) == chosen.currency:
        return OfferSeen("meta", meta.price, chosen.currency, chosen.availability, chosen.price)
    return chosen


def _source(offer: OfferSeen) -> FieldSource:
    return FieldSource(offer.source, CONFIDENCE[offer.source])


# lxml's plain elements: lxml.html's element classes are looked up in Python for every
# element touched, which cost more than the reading itself (the tree is the same). The
# table of ids libxml2 fills while parsing (lxml's default) is what Marks.by_id reads.
HTML_PARSER = etree.HTMLParser(collect_ids=True)


def _parse_tree(html: str) -> Any:
    if "\x00" in html[:4096]:
        raise NotAProductPage("binary data, not an HTML page")
    try:
        tree = etree.fromstring(html, HTML_PARSER)
    except (etree.ParserError, ValueError) as error:
        raise NotAProductPage(f"not an HTML page: {error}") from None
    if tree is None:
        raise NotAProductPage("not an HTML page: Document is empty")
    return tree


def _shop_url(tree: Any, tags: dict[str, str], url: str) -> str:
    """The page's own address (its canonical link, else og:url) when it names one: which
    shop's rules and currency apply, wherever the page was fetched from (a mirror, a
    proxy, a saved copy)."""
    links = (link.get("href") for link in tree.iter("link") if link.get("rel") == "canonical")
    named = next((href for href in links if href is not None), tags.get("og:url", ""))
    canonical = named.strip()
    return canonical if urlsplit(canonical).scheme in ("http", "https") else url


def parse_product_page(url: str, html: str) -> ProductPage:
    """Read a product page; NotAProductPage when it shows no product at all."""
    if len(html) > MAX_PAGE_BYTES:
        raise NotAProductPage(f"page larger than {MAX_PAGE_BYTES} bytes")
    tree = _parse_tree(html)
    tags = meta_tags(tree)
    shop = _shop_url(tree, tags, url)
    found = [from_json_ld(tree, shop), from_microdata(tree, shop), from_meta(tags, shop)]
    meta = found[2].offers[0] if found[2].offers else None
    offers = [o for f in found if (o := _best_offer(f.offers)) is not None]
    priced = next((o for o in offers if o.price is not None), None)
    marks = cache(partial(page_visible.Marks, tree))  # the visible page, read when needed
    # The visible page's price, currency and stock count only where no structured offer
    # states them: the choices below take the structured ones first.
    currency_said = any(o.currency for o in offers)
    stock_said = any(o.availability for o in offers)
    if priced is None or not (currency_said and stock_said):
        visible = page_visible.read(marks(), shop)
        if priced is None and visible is not None and visible.price is not None:
            priced = visible
        offers += [visible] if visible else []
    # A product named with no price and no stock either is no product page: news sites
    # name their paper a Product for its paywall. Amazon shows its products without one.
    stated = any(f.is_product for f in found) and any(o.availability for o in offers)
    if priced is None and not (stated or page_visible.is_amazon(shop)):
        raise NotAProductPage(f"no product with a price or stock at {url}")
    sources: dict[str, FieldSource] = {}
    price = original = None
    if priced is not None:
        priced = _sale_over_list(priced, meta)
        price, original = priced.price, priced.original
        sources["price"] = _source(priced)
        if original is not None:
            sources["original_price"] = sources["price"]
    # The price's own currency first, then any other source's, then the shop's domain.
    said = next((o for o in ([priced] if priced else []) + offers if o.currency), None)
    currency = said.currency if said else page_money.domain_currency(shop)
    if said is not None:
        sources["currency"] = _source(said)
    else:
        how = "domain" if currency else "default"
        sources["currency"] = FieldSource(how, CONFIDENCE[how])
    stock_from = next((o for o in offers if o.availability), None)
    availability = stock_from.availability if stock_from else None
    if stock_from is not None:
        sources["availability"] = _source(stock_from)
    elif price is not None and marks().can_buy:  # a shop lets one buy only what it has
        availability = page_stock.IN_STOCK
        sources["availability"] = FieldSource("visible", CONFIDENCE["visible"])
    if original is None and price is not None:
        original = page_visible.struck_price(marks(), shop, price)
        if original is not None:
            sources["original_price"] = FieldSource("visible", CONFIDENCE["visible"])
    return _page(url, tree, found, price, currency or "USD", original, availability, sources)


def _page(
    url: str,
    tree: Any,
    found: list[Found],
    price: Decimal | None,
    currency: str,
    original: Decimal | None,
    availability: str | None,
    sources: dict[str, FieldSource],
) -> ProductPage:
    info: dict[str, str] = {}
    for each in found:
        for key, value in each.info.items():
            info.setdefault(key, value)
    title = info.get("name") or " ".join((tree.findtext(".//title") or "").split()) or url
    return ProductPage(
        url=url,  # the address it was fetched from, so refreshing it finds the same deal
        title=title[:255],
        price=price,
        currency=currency,
        original_price=original if original and price and original > price else None,
        available=price is not None and availability != page_stock.OUT_OF_STOCK,
        availability=availability,
        description=info.get("description"),
        image_url=info.get("image"),
        brand=info.get("brand"),
        seller_name=info.get("seller") or info.get("site_name"),
        gtin=info.get("gtin"),
        mpn=info.get("mpn"),
        sku=info.get("sku"),
        sources=sources,
    )


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
