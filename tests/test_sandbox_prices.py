"""Price pins in the sandbox: POST /_sandbox/prices holds one listing at a chosen price,
which every market's wire format then carries through its real adapter, and its product
page shows; DELETE lets the generated price back."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pytest

from core.models.enums import MarketType
from markets.base import discount
from markets.product_page import fetch_product_page
from markets.sandbox.catalog import Product, default_catalog
from markets.sandbox.pricing import CENT, Quote, pinned, quote
from markets.sandbox.wire import page_path
from markets.search import SearchRequest, search
from tests.markets_support import admin, market_settings, reset_markets, running_sandbox, set_day

DAY = date(2026, 3, 2)


@pytest.fixture
async def markets(module_db, settings):
    """A sandbox of the test's own (no pins) on DAY; the module database's markets use it."""
    with running_sandbox(settings) as url:
        await reset_markets(module_db.sessions, url)
        await set_day(url, DAY.isoformat())
        yield url


def first(market: MarketType, wanted: Callable[[Quote], bool]) -> Product:
    """The first catalog product on `market` whose generated quote on DAY is `wanted`."""
    return next(
        p
        for p in default_catalog().products
        if market in p.listings and wanted(quote(p, market, DAY))
    )


async def pin(sandbox: str, market: MarketType, item_id: str, price: object) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        body = {"market": market.value, "item_id": item_id, "price": price}
        return await http.post(f"{sandbox}/_sandbox/prices", json=body)


async def unpin(sandbox: str, **params: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.delete(f"{sandbox}/_sandbox/prices", params=params)


async def offers_for(module_db, settings, product: Product, market: MarketType) -> dict:
    """The offers a real search through markets.search finds for the product, by item id."""
    request = SearchRequest(query=product.title, markets=[market])
    async with httpx.AsyncClient() as http:
        creds = market_settings(settings)
        result = await search(module_db.sessions, http, request, settings=creds)
    assert result.market_reports[0].status == "ok", result.market_reports
    return {offer.item_id: offer for offer in result.offers}


@pytest.mark.parametrize("market", list(MarketType))
async def test_a_pinned_price_comes_back_from_a_real_search(module_db, settings, markets, market):
    product = first(market, lambda q: not q.listed)  # delisted that week: the pin lists it
    item = product.listings[market]
    list_price = quote(product, market, DAY).list_price
    price = (list_price * Decimal("0.6")).quantize(CENT)
    assert item not in await offers_for(module_db, settings, product, market)

    assert (await pin(markets, market, item, str(price))).status_code == 200
    offer = (await offers_for(module_db, settings, product, market))[item]
    assert offer.current_price == price
    assert offer.original_price == list_price
    assert offer.discount_percent == discount(price, list_price)
    assert 39 < offer.discount_percent < 41
    assert offer.available

    assert (await unpin(markets, market=market.value, item_id=item)).status_code == 200
    assert item not in await offers_for(module_db, settings, product, market)


@pytest.mark.parametrize("market", list(MarketType))
async def test_a_pinned_price_is_on_the_product_page_in_stock(markets, market):
    product = first(market, lambda q: q.listed and not q.in_stock)
    list_price = quote(product, market, DAY).list_price
    price = (list_price / 2).quantize(CENT)
    url = markets + page_path(market, product)
    await pin(markets, market, product.listings[market], str(price))
    async with httpx.AsyncClient() as http:
        page = await fetch_product_page(http, url, allow_private=True, timeout_s=10)
    assert (page.price, page.original_price, page.available) == (price, list_price, True)


async def test_a_price_above_the_list_price_is_no_sale(module_db, settings, markets):
    market = MarketType.BESTBUY
    product = first(market, lambda q: q.listed and q.on_sale)
    item = product.listings[market]
    price = quote(product, market, DAY).list_price + 50
    await pin(markets, market, item, str(price))
    offer = (await offers_for(module_db, settings, product, market))[item]
    assert (offer.current_price, offer.original_price, offer.discount_percent) == (
        price,
        None,
        None,
    )
    held = pinned(quote(product, market, DAY), price)
    assert (held.on_sale, held.percent_off) == (False, 0)  # Best Buy's percentSavings: 0


async def test_the_state_shows_the_pins_and_delete_lifts_one_or_all(markets):
    amazon = first(MarketType.AMAZON, lambda q: True).listings[MarketType.AMAZON]
    ebay = first(MarketType.EBAY, lambda q: True).listings[MarketType.EBAY]
    await pin(markets, MarketType.AMAZON, amazon, 199.99)  # a JSON number stays exact
    await pin(markets, MarketType.EBAY, ebay, "5")
    await pin(markets, MarketType.EBAY, ebay, "7.5")  # pinned again: the new price holds
    state = await admin(markets, "GET", "state")
    assert state["prices"] == [
        {"market": "amazon", "item_id": amazon, "price": "199.99"},
        {"market": "ebay", "item_id": ebay, "price": "7.50"},
    ]
    one = await unpin(markets, market="ebay", item_id=ebay)
    assert one.json()["prices"] == [{"market": "amazon", "item_id": amazon, "price": "199.99"}]
    everything = await unpin(markets)
    assert everything.status_code == 200 and everything.json()["prices"] == []


@pytest.mark.parametrize(
    ("market", "item", "status", "needle"),
    [
        ("amazon", "B0NOSUCHONE", 404, "amazon lists no item 'B0NOSUCHONE'"),
        ("etsy", "123", 404, "unknown market 'etsy'"),
        ("amazon", None, 422, "item_id are required"),
    ],
)
async def test_unknown_listings_are_refused(markets, market, item, status, needle):
    async with httpx.AsyncClient() as http:
        body = {"market": market, "item_id": item, "price": "10.00"}
        posted = await http.post(f"{markets}/_sandbox/prices", json=body)
        params = {"market": market, **({"item_id": item} if item else {})}
        deleted = await http.delete(f"{markets}/_sandbox/prices", params=params)
    for response in (posted, deleted):
        assert response.status_code == status
        assert needle in response.json()["error"]
    assert (await admin(markets, "GET", "state"))["prices"] == []


@pytest.mark.parametrize(
    "price", ["0", "-1", "0.00", "abc", "", "NaN", "Infinity", "1e999999", "1.999", None, True]
)
async def test_prices_that_are_not_positive_cents_are_refused(markets, price):
    item = first(MarketType.WALMART, lambda q: True).listings[MarketType.WALMART]
    response = await pin(markets, MarketType.WALMART, item, price)
    assert response.status_code == 422
    assert "price must be an amount above 0" in response.json()["error"]
    assert (await admin(markets, "GET", "state"))["prices"] == []


@pytest.mark.parametrize("body", [b"{not json", b'["amazon"]', b"true"])
async def test_a_body_that_is_not_a_json_object_is_refused(markets, body):
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{markets}/_sandbox/prices", content=body)
    assert response.status_code == 422 and response.json()["error"]
