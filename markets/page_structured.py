"""What a page's structured data says about its product: JSON-LD, microdata and RDFa, and
OpenGraph/product meta tags, read from one parsed lxml tree. Keys are read without regard
to case ("pricecurrency", "@type": "product"); offers are found however they nest (an
Offer in an Offer, an AggregateOffer's offers, priceSpecification, a ProductGroup's
variants, an Offer standing alone)."""

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, partial
from typing import Any

from lxml import etree
from lxml.etree import _Element as Element

from markets import page_money, page_stock
from markets.page_layout import Layout

PRODUCT_TYPES = {"product", "productgroup", "productmodel", "individualproduct", "somproducts"}
OFFER_TYPES = {"offer", "aggregateoffer"}
MAX_DEPTH = 40  # deeper JSON-LD is no product data anyone wrote by hand
MAX_NODES = 5000
INFO_KEYS = ("name", "description", "image", "brand", "sku", "mpn", "gtin", "seller")
JSON_LD_CASE = str.maketrans("JSONLD", "jsonld")
# An element's text and its descendants' (lxml.html's text_content()).
text_content = etree.XPath("string()", smart_strings=False)


@dataclass
class OfferSeen:
    source: str
    price: Decimal | None = None
    currency: str | None = None
    availability: str | None = None
    original: Decimal | None = None


@dataclass
class Found:
    """Everything one kind of markup says: its offers, whether it names a product, and
    the product's name, image and identifiers as written."""

    source: str
    offers: list[OfferSeen] = field(default_factory=list)
    is_product: bool = False
    info: dict[str, str] = field(default_factory=dict)


def _lower(node: dict[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in node.items()}


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type") or node.get("type") or []
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() for k in kinds}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    value = value[0] if isinstance(value, list) and value else value
    if isinstance(value, dict):
        low = _lower(value)
        value = low.get("name") or low.get("url") or low.get("@id") or low.get("contenturl")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()[:2000] or None
    return None


def _json_documents(tree: Element) -> list[Any]:
    """Each JSON-LD script's JSON; one that is not JSON (or nests absurdly) is skipped."""
    documents = []
    scripts = tree.iter("script")  # lxml's own walk: cheaper than XPath's attribute tests
    for script in (s for s in scripts if "ld+json" in s.get("type", "").translate(JSON_LD_CASE)):
        text = (script.text or "").strip()
        text = re.sub(r"^\s*(<!--|//\s*<!\[CDATA\[)|(-->|//\s*\]\]>)\s*$", "", text)
        try:
            documents.append(json.loads(text, strict=False))
        except (ValueError, RecursionError):
            continue
    return documents


def _dicts(document: Any) -> list[tuple[dict[str, Any], bool]]:
    """Every dict in a JSON-LD document (lower-cased keys), each with whether it sits inside
    a product's offers; bounded in depth and count."""
    found: list[tuple[dict[str, Any], bool]] = []
    stack: list[tuple[Any, int, bool]] = [(document, 0, False)]
    while stack and len(found) < MAX_NODES:
        node, depth, in_product = stack.pop()
        if depth > MAX_DEPTH:
            continue
        if isinstance(node, list):
            stack.extend((item, depth + 1, in_product) for item in reversed(node))
        elif isinstance(node, dict):
            node = _lower(node)
            found.append((node, in_product))
            inside = in_product or bool(_types(node) & PRODUCT_TYPES)
            stack.extend((value, depth + 1, inside) for value in reversed(node.values()))
    return found


def _offer(node: dict[str, Any], source: str, url: str) -> OfferSeen:
    price, symbol = page_money.amount(node.get("price"))
    if price is None:
        price, symbol = page_money.amount(node.get("lowprice"))
    currency = page_money.currency_code(_text(node.get("pricecurrency")), url)
    original = None
    for spec in _as_list(node.get("pricespecification")):
        if not isinstance(spec, dict):
            continue
        spec = _lower(spec)
        value, spec_symbol = page_money.amount(spec.get("price"))
        kind = str(spec.get("pricetype", "")).lower()
        if kind.endswith(("listprice", "srp", "msrp", "strikethroughprice")):
            original = value
        elif price is None and value is not None:
            price, symbol = value, spec_symbol
        currency = currency or page_money.currency_code(_text(spec.get("pricecurrency")), url)
    return OfferSeen(
        source=source,
        price=price,
        currency=currency or page_money.currency_code(symbol, url),
        availability=page_stock.from_schema(_text(node.get("availability"))),
        original=original,
    )


def from_json_ld(tree: Element, url: str) -> Found:
    found = Found("json-ld")
    for document in _json_documents(tree):
        for node, in_product in _dicts(document):
            kinds = _types(node)
            if kinds & PRODUCT_TYPES:
                found.is_product = True
                for key in INFO_KEYS:
                    if key not in found.info and (value := _text(node.get(key))):
                        found.info[key] = value
                if "gtin" not in found.info:
                    gtins = (node.get(k) for k in ("gtin13", "gtin12", "gtin14", "gtin8"))
                    if gtin := next((_text(g) for g in gtins if g), None):
                        found.info["gtin"] = gtin
            has_price = any(k in node for k in ("price", "lowprice", "pricespecification"))
            if kinds & OFFER_TYPES or (in_product and has_price and "pricecurrency" in node):
                found.offers.append(_offer(node, "json-ld", url))
                if "seller" not in found.info and (seller := _text(node.get("seller"))):
                    found.info["seller"] = seller
    return found


def _item_value(element: Element) -> str:
    if "itemscope" in element.attrib:  # a nested item (a seller, a brand): its name
        inside = element.iterdescendants(etree.Element)
        named = next((e for e in inside if e.get("itemprop") == "name"), None)
        return _item_value(named) if named is not None else ""
    for attribute in ("content", "href", "src", "value", "datetime"):
        if (value := element.get(attribute)) is not None:
            return value
    return text_content(element)


def from_microdata(tree: Element, url: str) -> Found:
    """Microdata (itemprop) and RDFa (property="schema:price" and the like) offers: the
    properties of each Offer or Product scope, nearest scope first."""
    found = Found("microdata")
    layout = cache(partial(Layout, tree))  # asked only of a priced scope
    groups: dict[Element | None, list[OfferSeen]] = {}  # offers by their Product
    # lxml's walks and Python's attribute reads: libxml2's XPath attribute tests cost more.
    for scope in (e for e in tree.iter(etree.Element) if e.get("itemtype") is not None):
        kind = scope.get("itemtype", "").rstrip("/").rsplit("/", 1)[-1].lower()
        if kind in PRODUCT_TYPES:
            found.is_product = True
        if kind not in PRODUCT_TYPES | OFFER_TYPES:
            continue
        props: dict[str, str] = {}
        for element in scope.iterdescendants(etree.Element):
            if element.get("itemprop") is None:
                continue
            owner = next(element.iterancestors(), None)
            while owner is not None and owner is not scope and "itemscope" not in owner.attrib:
                owner = owner.getparent()
            if owner is scope:
                for name in element.get("itemprop", "").lower().split():
                    props.setdefault(name, _item_value(element))
        if kind in PRODUCT_TYPES:
            for key in INFO_KEYS:
                if key not in found.info and (value := (props.get(key) or "").strip()):
                    found.info[key] = value[:2000]
            gtins = (props.get(k) for k in ("gtin13", "gtin12", "gtin14", "gtin8"))
            if "gtin" not in found.info and (gtin := next((g for g in gtins if g), None)):
                found.info["gtin"] = gtin.strip()
        if kind in OFFER_TYPES and (seller := (props.get("seller") or "").strip()):
            found.info.setdefault("seller", seller[:255])
        priced = kind in OFFER_TYPES or {"price", "lowprice", "availability"} & props.keys()
        if priced and not layout().in_other_products(scope):
            groups.setdefault(_outer_product(scope), []).append(_offer(props, "microdata", url))
    found.offers = _main_offers(groups)
    return found


def _outer_product(scope: Element) -> Element | None:
    """The outermost Product scope holding `scope` (itself included); None for an Offer
    that belongs to no Product."""
    outer = None
    for element in (scope, *scope.iterancestors()):
        kind = element.get("itemtype", "").rstrip("/").rsplit("/", 1)[-1].lower()
        if kind in PRODUCT_TYPES:
            outer = element
    return outer


def _main_offers(groups: dict[Element | None, list[OfferSeen]]) -> list[OfferSeen]:
    """The offers of the page's own product: the first Product (in page order) with
    offers, or the Offers belonging to no Product when they come first. Offers in the
    widgets showing other products were left out already."""
    return next(iter(groups.values()), [])


META_PRICE = (
    "product:sale_price:amount",
    "product:price:amount",
    "og:price:amount",
    "product:price",
)
META_ORIGINAL = ("product:original_price:amount", "og:price:standard_amount")
META_CURRENCY = ("product:sale_price:currency", "product:price:currency", "og:price:currency")
META_STOCK = ("product:availability", "og:availability", "availability")


def meta_tags(tree: Element) -> dict[str, str]:
    """<meta property|name=… content=…>, first of each name, names in lower case."""
    tags: dict[str, str] = {}
    for meta in tree.iter("meta"):  # lxml's own walk: cheaper than XPath's attribute tests
        if meta.get("content") is None:
            continue
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if name:
            tags.setdefault(name, meta.get("content", ""))
    return tags


def from_meta(tags: dict[str, str], url: str) -> Found:
    found = Found("meta", is_product=tags.get("og:type", "").lower().startswith("product"))
    price = symbol = None
    for name in META_PRICE:
        price, symbol = page_money.amount(tags.get(name))
        if price is not None:
            break
    original = next(
        (o for name in META_ORIGINAL if (o := page_money.amount(tags.get(name))[0])), None
    )
    currency = next(
        (c for name in META_CURRENCY if (c := page_money.currency_code(tags.get(name), url))),
        page_money.currency_code(symbol, url),
    )
    stock = next((s for name in META_STOCK if (s := page_stock.from_schema(tags.get(name)))), None)
    if price is not None or stock is not None:
        found.is_product = True
        found.offers.append(OfferSeen("meta", price, currency, stock, original))
    for key, name in (
        ("name", "og:title"),
        ("description", "og:description"),
        ("image", "og:image"),
        ("site_name", "og:site_name"),
    ):
        if value := tags.get(name, "").strip():
            found.info[key] = value[:2000]
    return found
