"""Reading real saved product pages (tests/pages/), and pages that are no such thing."""

import json
from decimal import Decimal
from typing import Any

import pytest

from markets.product_page import MAX_PAGE_BYTES, NotAProductPage, parse_product_page
from tests.page_corpus import SavedPage, not_product_pages, saved_pages, score

pytestmark = pytest.mark.once  # no database: one CI pass is enough

# What the reader reaches on the corpus today; it must not fall below.
FLOOR = {"price": 0.963, "availability": 0.993, "currency": 0.987, "original_price": 0.897}


def read(page: SavedPage) -> dict[str, Any]:
    try:
        found = parse_product_page(page.url, page.html)
    except NotAProductPage:
        return {}
    seen = {
        "price": found.price,
        "availability": found.availability,
        "original_price": found.original_price,
    }
    seen["currency"] = found.currency if found.price is not None else None
    return seen


def test_corpus_f1_does_not_fall() -> None:
    pages = list(saved_pages())
    shops = {page.url.split("/")[2].removeprefix("www.") for page in pages}
    scores, wrong = score(read)
    print(
        f"\n{len(pages)} pages, {len(shops)} shops: "
        + ", ".join(f"{field} F1 {value:.3f}" for field, value in scores.items())
    )
    print("\n".join(wrong))
    for field, floor in FLOOR.items():
        assert scores[field] >= floor, (field, scores[field], wrong)


@pytest.mark.parametrize(("name", "html"), list(not_product_pages()))
def test_real_pages_that_show_no_product_are_not_product_pages(name: str, html: str) -> None:
    with pytest.raises(NotAProductPage):
        parse_product_page(f"https://example.org/{name}", html)


@pytest.mark.parametrize(
    ("offers", "price", "stock"),
    [
        ('{"@type":"Offer","price":"26,00 €","priceCurrency":"EUR"}', "26.00", None),
        ('{"@type":"Offer","price":"499€\\n499€\\n499","pricecurrency":"eur"}', "499.00", None),
        (
            '[{"@type":"Offer","price":"10","availability":"OutOfStock","priceCurrency":"GBP"},'
            '{"@type":"Offer","price":"12","availability":"InStock","priceCurrency":"GBP"}]',
            "12.00",
            "InStock",
        ),
        (
            '{"@type":"AggregateOffer","lowPrice":"5.50","priceCurrency":"GBP",'
            '"offers":[{"@type":"Offer","offers":{"@type":"Offer","price":"5.50"}}]}',
            "5.50",
            None,
        ),
        (
            '{"@type":"Offer","priceSpecification":{"price":"7.25","priceCurrency":"GBP"},'
            '"availability":"something new"}',
            "7.25",
            None,
        ),
    ],
)
def test_structured_data_as_shops_write_it(offers: str, price: str, stock: str | None) -> None:
    html = (
        '<script type="application/ld+json">{"@context":"https://schema.org",'
        f'"@type":"product","name":"Mug","offers":{offers}}}</script>'
    )
    page = parse_product_page("https://shop.example/mug", html)
    assert page.price == Decimal(price)
    assert page.currency in ("EUR", "GBP")
    assert page.availability == stock
    assert page.sources["price"].source == "json-ld"


def test_sale_price_in_meta_beats_a_list_price_in_json_ld() -> None:
    html = (
        '<meta property="product:price:amount" content="120.00">'
        '<script type="application/ld+json">{"@type":"Product","name":"Lamp",'
        '"offers":{"@type":"Offer","price":"150.00","priceCurrency":"USD"}}</script>'
    )
    page = parse_product_page("https://shop.example/lamp", html)
    assert (page.price, page.original_price) == (Decimal("120.00"), Decimal("150.00"))


def test_a_product_with_no_price_is_a_record_out_of_stock() -> None:
    html = (
        '<script type="application/ld+json">{"@type":"Product","name":"Sconce",'
        '"offers":{"@type":"Offer","price":{},"price":"0",'
        '"availability":"http://schema.org/OutOfStock"}}</script>'
    )
    page = parse_product_page("https://shop.example/sconce", html)
    assert page.price is None and page.available is False
    assert page.availability == "OutOfStock" and page.title == "Sconce"


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "html",
    [
        "\x00\x01\x02PNG binary" * 100,
        "",
        "<html><body><div><p>unclosed <b>tags <i>everywhere",
        f'<script type="application/ld+json">{_nested(100_000)}</script>',
        '<script type="application/ld+json">{"@type": "Product", not json</script>',
        "<script>" + "var x = 'y';" * 350_000 + "</script><p>No product here</p>",
    ],
    ids=["binary", "empty", "broken", "deep-json-ld", "not-json", "megabytes-of-script"],
)
def test_bad_input_is_not_a_product_page(html: str) -> None:
    with pytest.raises(NotAProductPage):
        parse_product_page("https://shop.example/x", html)


def test_a_page_over_the_limit_is_not_read() -> None:
    html = "<p>" + "x" * MAX_PAGE_BYTES
    with pytest.raises(NotAProductPage, match="larger than"):
        parse_product_page("https://shop.example/x", html)


def test_a_five_megabyte_product_page_is_read() -> None:
    offer = json.dumps(
        {
            "@type": "Product",
            "name": "Big",
            "offers": {"price": "9.99", "priceCurrency": "USD", "@type": "Offer"},
        }
    )
    filler = "<div class='x'>filler text</div>" * ((MAX_PAGE_BYTES - 2000) // 34)
    html = f'<script type="application/ld+json">{offer}</script>{filler}'
    assert parse_product_page("https://shop.example/big", html).price == Decimal("9.99")


def test_currency_from_the_domain_and_an_offer_inside_an_offer_in_microdata() -> None:
    html = (
        '<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Lens</h1>'
        '<div itemprop="offers" itemscope itemtype="http://schema.org/Offer">'
        '<div itemprop="offers" itemscope itemtype="http://schema.org/Offer">'
        '<span itemprop="price" content="1.299,00">1.299,00</span>'
        '<link itemprop="availability" href="https://schema.org/InStock"></div></div></div>'
    )
    page = parse_product_page("https://www.shop.example.de/lens", html)
    assert (page.price, page.currency, page.availability) == (Decimal("1299.00"), "EUR", "InStock")
    assert page.sources["currency"].source == "domain"
    assert page.sources["price"].source == "microdata"


def test_an_id_is_the_first_element_holding_it_past_links_named_so_and_scripts() -> None:
    """libxml2 files an <a name> and a script's id in the same table as the ids."""
    html = (
        '<a name="priceblock_ourprice">$1.00</a><script id="priceblock_ourprice">2</script>'
        '<span id="priceblock_ourprice">$3.00</span><span id="priceblock_ourprice">$4.00</span>'
    )
    page = parse_product_page("https://www.amazon.com/dp/B000000000", html)
    assert (page.price, page.sources["price"].source) == (Decimal("3.00"), "visible")
