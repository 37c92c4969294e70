"""The price and stock a page shows its reader, for pages whose structured data says
nothing: rules per shop where the shop's own markup is known (Amazon carries no schema.org
Product at all), then generic rules (a product's price element, a stock message, an
add-to-cart button, a struck-through price).

The rules look elements up in indexes (Marks) made when first asked: ids from libxml2's
table, class names and labels from one walk of the tree. One XPath per rule would walk a
3 MB page thirty times, and libxml2's XPath tests of attributes cost more an element than
reading them in Python."""

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from functools import cached_property
from itertools import islice
from typing import NamedTuple
from urllib.parse import urlsplit

from lxml import etree
from lxml.etree import _Element as Element

from markets import page_money, page_stock
from markets.page_layout import Layout
from markets.page_structured import OfferSeen, text_content

BUY_WORDS = ("addtocart", "addcart", "cartadd", "addtobasket", "addtobag", "buynow", "oneclick")
BUY_WORD = re.compile("|".join(BUY_WORDS))
BUY_TAGS = ("button", "input", "a")
SKIPPED_TAGS = {"script", "style"}
SHOWN_TEXT = etree.XPath(".//text()[not(ancestor::script or ancestor::style)]", smart_strings=False)
STRUCK_TAGS = ("s", "del")
# An element saying only "Price:" (in several languages): the price follows it; or only
# "RRP:", "Was:", "UVP:" before a list price.
LABEL = re.compile(
    r"(?P<price>(?:our |your |sale |unit )?(?:price|preis|prix|precio|prezzo|prijs|preço)\s*:?)"
    r"|(?:rrp|was|list price|msrp|uvp|statt|prix conseillé)\s*:?",
    re.I,
)
IDS_FILED = etree.XPath("id($id)")
FIRST_WITH_ID = etree.XPath("(//*[@id=$id][not(self::script or self::style)])[1]")
# Parts of a class name that mark a price other than the one to pay.
NOT_THE_PRICE = ("old", "was", "regular", "compare", "list", "strike", "pseudo", "retail")
# ... as a whole part of a price's class name: "priceWas", "price--list", not "listing".
NOT_THE_PRICE_PART = re.compile(rf"(?:^|[-_])(?:{'|'.join(NOT_THE_PRICE)})(?:$|[-_])")

# The class names the rules look up (_named adds its own), besides any naming a price:
# Marks indexes only these.
LOOKED_UP_CLASSES = {"main", *NOT_THE_PRICE}


def _is_looked_up(name: str) -> bool:
    return "price" in name or name in LOOKED_UP_CLASSES


def _shown(element: Element) -> bool:
    return element.tag not in SKIPPED_TAGS


def _buy_names(element: Element) -> tuple[str | None, ...]:
    """A button's, input's or link's id, class, name, onclick and own words."""
    get = element.get
    named = (get("id"), get("class", ""), get("name"), get("onclick"))
    if element.tag == "button":  # its own words ("Add to Cart")
        named += (text_content(element)[:40],)
    elif element.tag == "input":
        named += (get("value"),)
    return named


def _say_buy(named: tuple[str | None, ...]) -> bool:
    """The names say "add to cart" or "buy now"."""
    words = " ".join(filter(None, named)).lower()
    words = words.replace("-", "").replace("_", "").replace(" ", "")
    return BUY_WORD.search(words) is not None


class Index(NamedTuple):
    classes: dict[str, list[Element]]  # by the class names the rules read, lower case
    labels: list[Element]  # elements reading only "Price:"
    list_labels: list[Element]  # ... only "RRP:"


class Priced(NamedTuple):
    item_prices: list[Element]  # itemprop="price", no item of its own: its shown text
    price_ids: list[Element]  # id="…price…", in document order


class Marks:
    """A page's elements as the rules look them up: by id, by the class names the rules
    read (lower case), its price labels, elements whose id names a price, struck-through
    elements and whether it has a buy button. Each index is made when a rule first asks
    for it: a page whose structured data says all rarely needs them all, Amazon's rules
    need only ids."""

    def __init__(self, tree: Element) -> None:
        self.tree = tree
        self.layout = Layout(tree)
        self.title = self.layout.title  # the first <h1>: the product's name

    def by_id(self, identity: str) -> Element | None:
        """The first element (no script or style) with this id (one without spaces).

        libxml2 files every id (and <a name>) in a table as it parses, the first element
        holding each: a miss there is a miss on the page."""
        filed = IDS_FILED(self.tree, id=identity)
        if not filed:
            return None
        if filed[0].get("id") == identity and _shown(filed[0]):
            return filed[0]
        return next(iter(FIRST_WITH_ID(self.tree, id=identity)), None)

    @cached_property
    def index(self) -> Index:
        """The class index and the price and list price labels, from one walk of the tree."""
        index = Index(defaultdict(list), [], [])
        # Each class attribute's names worth indexing, worked out once per distinct value:
        # most elements share a few values, and most names are no rule's.
        looked_up: dict[str, tuple[str, ...]] = {}
        for element in self.tree.iter(etree.Element):  # elements only: no comments
            if attribute := element.get("class"):
                names = looked_up.get(attribute)
                if names is None:
                    names = looked_up[attribute] = tuple(
                        name for name in attribute.lower().split() if _is_looked_up(name)
                    )
                if names and _shown(element):
                    for name in names:
                        index.classes[name].append(element)
            text = element.text
            label = text and len(text) < 40 and LABEL.fullmatch(text.strip())
            if label and _shown(element):
                (index.labels if label["price"] else index.list_labels).append(element)
        return index

    @cached_property
    def priced(self) -> Priced:
        """itemprop="price" elements and elements whose id names a price, from one walk
        (cheaper than XPath's attribute tests)."""
        priced = Priced([], [])
        for element in self.tree.iter(etree.Element):
            get = element.get
            if get("itemprop") == "price" and get("itemscope") is None and _shown(element):
                priced.item_prices.append(element)
            if (identity := get("id")) and "price" in identity.lower() and _shown(element):
                priced.price_ids.append(element)
        return priced

    @cached_property
    def struck(self) -> list[Element]:
        return list(self.tree.iter(*STRUCK_TAGS))

    @cached_property
    def can_buy(self) -> bool:
        """The page has a buy button (asked only when no source states the stock)."""
        not_buying: set[tuple[str | None, ...]] = set()  # most links share their names
        for element in self.tree.iter(*BUY_TAGS):
            named = _buy_names(element)
            if named not in not_buying:
                if _say_buy(named):
                    return True
                not_buying.add(named)
        return False

    def named(self, name: str) -> list[Element]:
        """Elements with `name` as their id or among their classes."""
        by_id = self.by_id(name)
        return ([by_id] if by_id is not None else []) + self.index.classes.get(name.lower(), [])

    def within(self, identity: str, *classes: str) -> list[Element]:
        """Elements inside #identity carrying each of `classes`, in turn."""
        found = [by_id] if (by_id := self.by_id(identity)) is not None else []
        for name in classes:
            found = [
                inner
                for outer in found
                for inner in outer.iter()
                if isinstance(inner.tag, str) and name in inner.get("class", "").lower().split()
            ]
        return found


Rule = Callable[[Marks], list[Element]]


def _by_id(identity: str) -> Rule:
    return lambda marks: marks.within(identity)


def _inside(identity: str, *classes: str) -> Rule:
    return lambda marks: marks.within(identity, *classes)


def _named(name: str) -> Rule:
    LOOKED_UP_CLASSES.add(name.lower())
    return lambda marks: marks.named(name)


# Amazon's buy box, most specific first: the deal/sale/our price of old pages, the
# price-to-pay of the current core price block, the Kindle price, a used copy's price.
AMAZON_PRICES: tuple[Rule, ...] = (
    _by_id("priceblock_dealprice"),
    _by_id("priceblock_saleprice"),
    _by_id("priceblock_ourprice"),
    _inside("corePriceDisplay_desktop_feature_div", "pricetopay", "a-offscreen"),
    _inside("corePrice_feature_div", "a-offscreen"),
    _inside("apex_desktop", "pricetopay", "a-offscreen"),
    _by_id("price_inside_buybox"),
    _by_id("newBuyBoxPrice"),
    _by_id("kindle-price"),
    _inside("buybox", "kindle-price", "a-color-price"),
    _inside("buyNewSection", "offer-price"),
    _inside("usedBuySection", "offer-price"),
)
AMAZON_ORIGINALS: tuple[Rule, ...] = (
    _inside("corePriceDisplay_desktop_feature_div", "a-text-price", "a-offscreen"),
    _inside("price", "a-text-strike"),
    _inside("buybox", "a-text-strike"),
    _by_id("listPrice"),
)
AMAZON_STOCK: tuple[Rule, ...] = (_by_id("availability"), _by_id("outOfStock"))


def _price_and_main(marks: Marks) -> list[Element]:
    main = set(marks.index.classes.get("main", []))
    return [element for element in marks.index.classes.get("price", []) if element in main]


def _price_in_cart_form(marks: Marks) -> list[Element]:
    """A price inside the form that puts the product in the cart."""
    return [
        element
        for element in marks.index.classes.get("price", [])
        if any(
            form.tag == "form" and "cart" in f"{form.get('id')} {form.get('class')}".lower()
            for form in element.iterancestors()
        )
    ]


def _price_beside_title(marks: Marks) -> list[Element]:
    """An element whose class names a price (not a list price) in the block holding the
    product's title, its <h1>: shops put the price right by the name."""
    block = marks.title.getparent() if marks.title is not None else None
    if block is None:
        return []
    return [
        element
        for element in block.iter()
        if isinstance(element.tag, str)
        and any(
            "price" in name and not any(word in name for word in NOT_THE_PRICE)
            for name in element.get("class", "").lower().split()
        )
    ]


def _labelled(labels: list[Element]) -> list[Element]:
    """What holds a label and the amount after it ("<b>Price:</b> £60"), or the label
    itself when the amount is inside it ("<span>RRP: <b>£749.99</b></span>")."""
    return [
        label if len(label) else label.getparent()
        for label in labels
        if label.getparent() is not None
    ]


def _struck_prices(marks: Marks) -> list[Element]:
    """<s>/<del> that are, or sit inside, a price element."""
    return [
        element
        for element in marks.struck
        if any("price" in e.get("class", "").lower() for e in (element, *element.iterancestors()))
    ]


def _list_prices(marks: Marks) -> list[Element]:
    """Elements whose class names a price other than the one to pay ("priceWas",
    "price--list", "old-price-box"), or only that ("old") inside a price element."""
    named = [
        element
        for name, elements in marks.index.classes.items()
        if "price" in name and NOT_THE_PRICE_PART.search(name.replace("price", "-"))
        for element in elements
    ]
    inside = [
        element
        for word in NOT_THE_PRICE
        for element in marks.index.classes.get(word, [])
        if "price"
        in (element.getparent().get("class", "") if element.getparent() is not None else "").lower()
    ]
    return named + inside


GENERIC_PRICES: tuple[Rule, ...] = (
    *(_named(n) for n in ("product-price", "productprice", "price-main", "current-price")),
    _named("sale-price"),
    lambda marks: marks.priced.item_prices,
    _price_and_main,
    _price_in_cart_form,
    lambda marks: _labelled(marks.index.labels),
    lambda marks: marks.priced.price_ids,
    _price_beside_title,
)
# List prices by the shop platforms' own class names: Magento "old-price", PrestaShop
# "regular-price", Shopify "compare-at-price"/"price--compare", Shopware "price-pseudo"
# and "price--line-through"; WooCommerce strikes it through (<del>).
LIST_PRICE_NAMES = (
    "price-comparison",
    "was-price",
    "old-price",
    "regular-price",
    "compare-at-price",
    "price--compare",
    "price-pseudo",
    "price--line-through",
    "suggestedretailprice",
)
GENERIC_ORIGINALS: tuple[Rule, ...] = (
    *(_named(n) for n in LIST_PRICE_NAMES),
    _struck_prices,
    _list_prices,
    lambda marks: _labelled(marks.index.list_labels),
)
GENERIC_STOCK: tuple[Rule, ...] = tuple(
    _named(n) for n in ("availability", "stock", "stock-status", "price-state")
)


def _texts(marks: Marks, rules: Iterable[Rule], limit: int = 3) -> Iterator[str]:
    """The text of each rule's first `limit` elements, leaving out the widgets that show
    other products (their prices and stock are not this product's); each rule is tried
    only when the texts before it did not do."""
    for rule in rules:
        mine = (e for e in rule(marks) if not marks.layout.in_other_products(e))
        for element in islice(mine, limit):
            if text := " ".join(" ".join(SHOWN_TEXT(element)).split())[:300]:
                yield text


def _first_price(texts: Iterable[str], url: str) -> OfferSeen | None:
    for text in texts:
        price, symbol = page_money.amount(text)
        if price is not None:
            return OfferSeen("visible", price, page_money.currency_code(symbol, url))
    return None


def is_amazon(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return re.search(r"(^|\.)amazon\.[a-z.]+$", host) is not None


def read(marks: Marks, url: str) -> OfferSeen | None:
    """The visible price, its currency and the stock message; None when the page shows
    no price and no stock message."""
    amazon = is_amazon(url)
    prices, stocks = (AMAZON_PRICES, AMAZON_STOCK) if amazon else (GENERIC_PRICES, GENERIC_STOCK)
    limit = 1 if amazon else 3
    seen = _first_price(_texts(marks, prices, limit), url) or OfferSeen("visible")
    stock = next(
        (s for text in _texts(marks, stocks, limit) if (s := page_stock.from_words(text))), None
    )
    if stock is None and seen.price is not None and marks.can_buy:
        stock = page_stock.IN_STOCK  # a shop lets one buy only what it has
    seen.availability = stock
    return seen if seen.price is not None or seen.availability else None


def struck_price(marks: Marks, url: str, price: Decimal) -> Decimal | None:
    """The list or struck-through price shown beside `price`, when it is higher."""
    originals = AMAZON_ORIGINALS if is_amazon(url) else GENERIC_ORIGINALS
    for text in _texts(marks, originals, limit=2):
        original, _ = page_money.amount(text)
        if original is not None and original > price:
            return original
    return None
