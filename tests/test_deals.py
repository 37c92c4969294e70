"""Deals against the sandbox and a real PostgreSQL: the upsert and price history over
several days of moving prices, the user-scoped query with full-text search, and tracking
our own fixture pages (tests/data/) served locally."""

import asyncio
import socket
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from core.deals import (
    DealError,
    DealFilters,
    get_deal,
    price_history,
    query_deals,
    record_offers,
)
from core.models import Deal, Goal, PriceTracking, User
from core.models.enums import DealSource, DealStatus, MarketType
from markets.product_page import ForbiddenAddress, NotAProductPage, pinned, public_address
from markets.sandbox.catalog import default_catalog
from markets.sandbox.pricing import quote
from markets.sandbox.wire import page_path
from markets.search import SearchRequest, search
from markets.tracking import refresh_deal, track_product_url
from tests.markets_support import (
    make_user_goal,
    market_settings,
    reset_markets,
    running_sandbox,
    serving_fixture_pages,
    set_day,
)

START = date(2026, 12, 1)


@pytest.fixture(scope="module")
def sessions(module_db):
    return module_db.sessions


@pytest.fixture(scope="module")
async def sandbox(settings, sessions):
    with running_sandbox(settings) as url:
        await reset_markets(sessions, url)
        yield url


@pytest.fixture(scope="module")
def pages():
    with serving_fixture_pages() as url:
        yield url


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


async def observe(sessions, http, settings, goal, query="4k monitor"):
    result = await search(sessions, http, SearchRequest(query, limit=50), settings=settings)
    async with sessions() as session, session.begin():
        goal = await session.get(Goal, goal.id)
        return result, [seen.deal for seen in await record_offers(session, goal, result.offers)]


async def test_deals_and_price_history_over_a_week_of_moving_prices(
    sessions, sandbox, http, settings
):
    creds = market_settings(settings)
    user, goal = await make_user_goal(sessions)
    urls: set[str] = set()
    observations = 0
    for day in range(7):
        await set_day(sandbox, (START + timedelta(days=day)).isoformat())
        result, deals = await observe(sessions, http, creds, goal)
        assert len(deals) == len(result.offers) > 0
        urls |= {offer.url for offer in result.offers}
        observations += len(result.offers)
        for offer, deal in zip(result.offers, deals, strict=True):
            assert (deal.url, deal.current_price) == (offer.url, offer.current_price)
            expected = DealStatus.ACTIVE if offer.available else DealStatus.SOLD_OUT
            assert deal.status is expected
            assert deal.discount_percent == offer.discount_percent
            if offer.original_price is not None:
                assert deal.discount_percent == (
                    (offer.original_price - offer.current_price) * 100 / offer.original_price
                ).quantize(Decimal("0.01"))
    await set_day(sandbox, None)
    async with sessions() as session:
        count = await session.scalar(select(func.count()).where(Deal.goal_id == goal.id))
        assert count == len(urls)  # one deal per url, however often seen
        tracked = await session.scalar(
            select(func.count())
            .select_from(PriceTracking)
            .join(Deal, Deal.id == PriceTracking.deal_id)
            .where(Deal.goal_id == goal.id)
        )
        assert tracked == observations  # every observation kept
        changes = list(
            await session.scalars(
                select(PriceTracking.meta_data)
                .join(Deal, Deal.id == PriceTracking.deal_id)
                .where(Deal.goal_id == goal.id, PriceTracking.meta_data.has_key("previous_price"))
            )
        )
        assert changes, "a week of sandbox prices moves some of them"
        assert all(Decimal(c["change"]) != 0 for c in changes)
        matched = await session.scalar(
            select(func.count()).where(
                Deal.goal_id == goal.id, Deal.meta_data.has_key("matched_at")
            )
        )
        assert 0 < matched <= len(urls)  # a goal with no rules: every deal seen available
        assert (await session.get(Goal, goal.id)).total_matches_found == matched
        assert (await session.get(User, user.id)).total_deals_found == len(urls)
        statuses = set(await session.scalars(select(Deal.status).where(Deal.goal_id == goal.id)))
        assert DealStatus.ACTIVE in statuses


async def test_price_history_follows_the_sandbox_day_by_day(sessions, sandbox, http, settings):
    creds = market_settings(settings)
    user, goal = await make_user_goal(sessions)
    watched, expected = None, []
    for day in range(6):
        when = START + timedelta(days=day)
        await set_day(sandbox, when.isoformat())
        _, deals = await observe(sessions, http, creds, goal, "air fryer")
        watched = watched or next(d for d in deals if d.meta_data["market"] == "amazon")
        if any(d.id == watched.id for d in deals):
            item = (MarketType.AMAZON, watched.meta_data["item_id"])
            expected.append(quote(default_catalog().by_item[item], MarketType.AMAZON, when))
    await set_day(sandbox, None)
    async with sessions() as session:
        history = await price_history(session, user.id, watched.id)
        deal = await get_deal(session, user.id, watched.id)
    assert [h.price for h in history] == [q.price for q in expected]
    assert deal.current_price == expected[-1].price
    assert deal.original_price == (expected[-1].list_price if expected[-1].on_sale else None)


async def test_query_deals_is_scoped_filtered_sorted_and_searchable(
    sessions, sandbox, http, settings
):
    creds = market_settings(settings)
    user, goal = await make_user_goal(sessions)
    other, other_goal = await make_user_goal(sessions)
    await observe(sessions, http, creds, goal, "monitor")
    await observe(sessions, http, creds, goal, "air fryer")
    await observe(sessions, http, creds, other_goal, "monitor")
    async with sessions() as session:
        mine = await query_deals(session, user.id, DealFilters(limit=100))
        assert mine and {d.goal_id for d in mine} == {goal.id}
        # Another user's goal id gives nothing, not their deals.
        assert await query_deals(session, user.id, DealFilters(goal_id=other_goal.id)) == []
        fryers = await query_deals(session, user.id, DealFilters(text="fryers", limit=100))
        assert fryers and all("Air Fryer" in d.title for d in fryers)
        curved = await query_deals(session, user.id, DealFilters(text="monitor -fryer"))
        assert curved and all("Monitor" in d.title for d in curved)
        cheap = await query_deals(
            session, user.id, DealFilters(max_price=Decimal(200), sort="price", limit=100)
        )
        prices = [d.current_price for d in cheap]
        assert prices == sorted(prices) and max(prices) <= 200
        off = await query_deals(
            session, user.id, DealFilters(min_discount=Decimal(10), sort="discount")
        )
        assert all(d.discount_percent >= 10 for d in off)
        assert [d.discount_percent for d in off] == sorted(
            (d.discount_percent for d in off), reverse=True
        )
        ebay = await query_deals(session, user.id, DealFilters(market=MarketType.EBAY, limit=100))
        assert ebay and all(d.source == DealSource.EBAY for d in ebay)
        assert await get_deal(session, other.id, mine[0].id) is None
        assert await price_history(session, other.id, mine[0].id) is None


async def test_the_text_filter_uses_the_gin_index(sessions):
    async with sessions() as session:
        await session.execute(select(1))
        conn = await session.connection()
        await conn.exec_driver_sql("SET enable_seqscan = off")
        plan = await conn.exec_driver_sql(
            "EXPLAIN SELECT id FROM deals WHERE to_tsvector('english'::regconfig, "
            "coalesce(deals.title, '') || ' ' || coalesce(deals.description, '')) "
            "@@ websearch_to_tsquery('english', 'monitor')"
        )
        assert "ix_deals_fts" in "\n".join(row[0] for row in plan)


async def test_concurrent_recording_never_duplicates_a_deal(sessions, sandbox, http, settings):
    import asyncio

    creds = market_settings(settings)
    user, goal = await make_user_goal(sessions)
    result = await search(sessions, http, SearchRequest("laptop", limit=20), settings=creds)

    async def record():
        async with sessions() as session, session.begin():
            return await record_offers(session, await session.get(Goal, goal.id), result.offers)

    await asyncio.gather(*(record() for _ in range(4)))
    async with sessions() as session:
        count = await session.scalar(select(func.count()).where(Deal.goal_id == goal.id))
        assert count == len(result.offers)
        available = sum(1 for offer in result.offers if offer.available)
        assert (await session.get(Goal, goal.id)).total_matches_found == available
        assert (await session.get(User, user.id)).total_deals_found == count


@pytest.mark.parametrize(
    ("page", "market", "price", "status", "original"),
    [
        ("target_jsonld.html", MarketType.TARGET, "89.99", DealStatus.ACTIVE, "119.99"),
        ("bestbuy_microdata.html", MarketType.BESTBUY, "299.99", DealStatus.SOLD_OUT, None),
        ("walmart_opengraph.html", MarketType.WALMART, "79.00", DealStatus.ACTIVE, None),
    ],
)
async def test_track_fixture_product_pages(
    sessions, sandbox, pages, http, page, market, price, status, original
):
    user, goal = await make_user_goal(sessions)
    for _ in range(2):
        deal = await track_product_url(
            sessions, http, user.id, goal.id, f"{pages}/{page}", allow_private=True, timeout_s=10
        )
    assert deal.source == DealSource.SCRAPER
    assert deal.meta_data["market"] == market.value
    assert (deal.current_price, deal.status) == (Decimal(price), status)
    assert deal.original_price == (Decimal(original) if original else None)
    async with sessions() as session:
        history = await price_history(session, user.id, deal.id)
        assert [h.price for h in history] == [Decimal(price)] * 2
        matched = 1 if status == DealStatus.ACTIVE else 0  # sold out meets no goal
        assert (await session.get(Goal, goal.id)).total_matches_found == matched


async def test_tracking_refuses_what_it_cannot_track(sessions, sandbox, pages, http):
    user, goal = await make_user_goal(sessions)
    _, other_goal = await make_user_goal(sessions)
    saved = f"{pages}/target_jsonld.html"

    async def track(goal_id, url, allow_private=True):
        return await track_product_url(
            sessions, http, user.id, goal_id, url, allow_private=allow_private, timeout_s=10
        )

    with pytest.raises(NotAProductPage):
        await track(goal.id, f"{pages}/not_a_product.html")
    with pytest.raises(ForbiddenAddress, match="not a public address"):
        await track(goal.id, saved, allow_private=False)
    with pytest.raises(DealError, match="no goal"):
        await track(other_goal.id, saved)
    with pytest.raises(DealError, match="not an http"):
        await track(goal.id, "file:///etc/passwd")
    async with sessions() as session:
        assert await query_deals(session, user.id, DealFilters()) == []


async def test_a_page_is_fetched_from_the_address_that_was_checked(pages, http):
    """No second lookup of the name (DNS rebinding): the request goes to the pinned address
    with the name as Host and SNI. shop.invalid resolves nowhere, so only that can work."""
    shop = f"shop.invalid:{urlsplit(pages).port}"
    target, headers, extensions = pinned(f"http://{shop}/target_jsonld.html?a=1", "127.0.0.1")
    assert target == f"http://{shop.replace('shop.invalid', '127.0.0.1')}/target_jsonld.html?a=1"
    assert (headers, extensions) == ({"Host": shop}, {"sni_hostname": "shop.invalid"})
    response = await http.get(target, headers=headers, extensions=extensions)
    assert response.status_code == 200 and '"Product"' in response.text
    assert pinned("https://shop.example/p", "2001:db8::1")[0] == "https://[2001:db8::1]/p"


def resolving_to(monkeypatch, *addresses: str) -> None:
    """Every name resolves to `addresses` (in that order), as a resolver may answer."""

    async def getaddrinfo(host: str, port: int, *args, **kwargs) -> list[tuple]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "addresses",
    [("93.184.216.34", "10.0.0.5"), ("127.0.0.1", "93.184.216.34"), ("8.8.8.8", "fd00::1")],
)
async def test_a_name_with_any_private_address_is_refused(monkeypatch, addresses):
    """A name with a public and a private address may be reached at either: refused."""
    resolving_to(monkeypatch, *addresses)
    with pytest.raises(ForbiddenAddress, match=r"shop\.example is not a public address"):
        await public_address("https://shop.example/p", frozenset(), allow_private=False)


async def test_a_name_with_only_public_addresses_is_pinned_to_the_first(monkeypatch):
    resolving_to(monkeypatch, "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    address = await public_address("https://shop.example/p", frozenset(), allow_private=False)
    assert address == "93.184.216.34"


def delisted_listing():
    """A sandbox Target listing present on one day and gone a week later."""
    for product in default_catalog().products:
        if MarketType.TARGET not in product.listings:
            continue
        for week in range(20):
            day = START + timedelta(days=7 * week)
            later = day + timedelta(days=7)
            if (
                quote(product, MarketType.TARGET, day).listed
                and not quote(product, MarketType.TARGET, later).listed
            ):
                return product, day, later
    raise AssertionError("the catalog always has one")


async def test_a_tracked_deal_expires_when_its_page_is_gone(sessions, sandbox, http):
    product, listed, gone = delisted_listing()
    user, goal = await make_user_goal(sessions)
    url = sandbox + page_path(MarketType.TARGET, product)
    await set_day(sandbox, listed.isoformat())
    try:
        deal = await track_product_url(
            sessions, http, user.id, goal.id, url, allow_private=False, timeout_s=10
        )
        in_stock = quote(product, MarketType.TARGET, listed).in_stock
        assert deal.status is (DealStatus.ACTIVE if in_stock else DealStatus.SOLD_OUT)
        await set_day(sandbox, gone.isoformat())
        deal = await refresh_deal(
            sessions, http, user.id, deal.id, allow_private=False, timeout_s=10
        )
        assert deal.status is DealStatus.EXPIRED
    finally:
        await set_day(sandbox, None)
