"""The price and stock a page shows its reader, for pages whose structured data says
nothing: rules per shop where the shop's own markup is known (Amazon carries no schema.org
Product at all), then generic rules (a product's price element, a stock message, an
add-to-cart button)."""

import re
from decimal import Decimal
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from markets import page_money, page_stock
from markets.page_structured import OfferSeen


def _class(name: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


def _named(name: str) -> str:
    """An element with `name` among its classes, or as its id."""
    return f'//*[@id="{name}" or {_class(name)}]'


# Amazon's buy box, most specific first: the deal/sale/our price of old pages, the
# price-to-pay of the current core price block, the Kindle price, a used copy's price.
AMAZON_PRICES = (
    '//*[@id="priceblock_dealprice"]',
    '//*[@id="priceblock_saleprice"]',
    '//*[@id="priceblock_ourprice"]',
    f'//*[@id="corePriceDisplay_desktop_feature_div"]//*[{_class("priceToPay")}]'
    f"//*[{_class('a-offscreen')}]",
    f'//*[@id="corePrice_feature_div"]//*[{_class("a-offscreen")}]',
    f'//*[@id="apex_desktop"]//*[{_class("priceToPay")}]//*[{_class("a-offscreen")}]',
    '//*[@id="price_inside_buybox"]',
    '//*[@id="newBuyBoxPrice"]',
    '//*[@id="kindle-price"]',
    f'//*[@id="usedBuySection"]//*[{_class("offer-price")}]',
)
AMAZON_ORIGINALS = (
    f'//*[@id="corePriceDisplay_desktop_feature_div"]//*[{_class("a-text-price")}]'
    f"//*[{_class('a-offscreen')}]",
    f'//*[@id="price"]//*[{_class("a-text-strike")}]',
    '//*[@id="listPrice"]',
)
AMAZON_STOCK = ('//*[@id="availability"]', '//*[@id="outOfStock"]')

GENERIC_PRICES = (
    *(_named(n) for n in ("product-price", "price-main", "current-price", "sale-price")),
    f"//*[{_class('price')} and {_class('main')}]",
)
GENERIC_ORIGINALS = tuple(
    _named(n)
    for n in (
        "price-comparison",
        "was-price",
        "old-price",
        "compare-at-price",
        "suggestedretailprice",
    )
)
GENERIC_STOCK = tuple(_named(n) for n in ("availability", "stock", "stock-status", "price-state"))
_FOLDED = (  # id, class and name in lower case without - and _: "add-to-cart" = "addToCart"
    "translate(concat(@id, ' ', @class, ' ', @name), "
    "'ABCDEFGHIJKLMNOPQRSTUVWXYZ-_', 'abcdefghijklmnopqrstuvwxyz')"
)
BUY_BUTTONS = ("addtocart", "addcart", "addtobasket", "addtobag", "buynow", "oneclick")
ADD_TO_CART = "//*[self::button or self::input or self::a][{}]".format(
    " or ".join(f"contains({_FOLDED}, '{word}')" for word in BUY_BUTTONS)
)
_PRICE_CLASS = "contains(translate(@class, 'PRICE', 'price'), 'price')"
GENERIC_ORIGINALS += (
    # from the few struck elements up, not from every price element down (libxml2 merges
    # the node sets of `//a//b` in quadratic time when there are many `a`)
    f"//*[self::s or self::del][ancestor::*[{_PRICE_CLASS}]]",
    f"//*[self::s or self::del][{_PRICE_CLASS}]",
    f"//*[{_PRICE_CLASS} and contains(translate(@class, 'LIST', 'list'), '--list')]",
)


def _texts(tree: HtmlElement, paths: tuple[str, ...], limit: int = 3) -> list[str]:
    texts = []
    for path in paths:
        for element in tree.xpath(path)[:limit]:
            if element.tag in ("script", "style"):
                continue
            text = " ".join(element.xpath(".//text()[not(ancestor::script or ancestor::style)]"))
            if text := " ".join(text.split())[:300]:
                texts.append(text)
    return texts


def _first_price(texts: list[str], url: str) -> tuple[str | None, OfferSeen | None]:
    for text in texts:
        price, symbol = page_money.amount(text)
        if price is not None:
            return text, OfferSeen("visible", price, page_money.currency_code(symbol, url))
    return None, None


def _stock(texts: list[str]) -> str | None:
    return next((s for text in texts if (s := page_stock.from_words(text))), None)


def is_amazon(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return re.search(r"(^|\.)amazon\.[a-z.]+$", host) is not None


def read(tree: HtmlElement, url: str) -> OfferSeen | None:
    """The visible price, its currency and the stock message;
    None when the page shows no price and no stock message."""
    amazon = is_amazon(url)
    prices, stocks = (AMAZON_PRICES, AMAZON_STOCK) if amazon else (GENERIC_PRICES, GENERIC_STOCK)
    _, seen = _first_price(_texts(tree, prices, limit=1 if amazon else 3), url)
    seen = seen or OfferSeen("visible")
    stock = _stock(_texts(tree, stocks, limit=1 if amazon else 3))
    if stock is None and seen.price is not None and tree.xpath(ADD_TO_CART):
        stock = page_stock.IN_STOCK  # a shop lets one buy only what it has
    seen.availability = stock
    return seen if seen.price is not None or seen.availability else None


def struck_price(tree: HtmlElement, url: str, price: Decimal) -> Decimal | None:
    """The list or struck-through price shown beside `price`, when it is higher."""
    originals = AMAZON_ORIGINALS if is_amazon(url) else GENERIC_ORIGINALS
    for text in _texts(tree, originals, limit=2):
        original, _ = page_money.amount(text)
        if original is not None and original > price:
            return original
    return None
