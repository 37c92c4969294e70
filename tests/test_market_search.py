"""The fan-out search against the sandbox and a real PostgreSQL: all five markets answer;
a slow, failing, throttled or garbled market leaves the others working and its row says
why; rate limits are shared through the database, across processes."""

import asyncio
import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.routes.markets import list_markets
from core.models import Market
from core.models.enums import MarketStatus, MarketType
from markets import health
from markets.search import SearchRequest, search
from tests.live_server import serve_in_thread
from tests.markets_support import market_settings, reset_markets, running_sandbox, set_fault

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture(scope="module")
def sessions(module_db):
    return module_db.sessions


@pytest.fixture(scope="module")
def database(module_db):
    return module_db.url


@pytest.fixture(scope="module")
def sandbox(settings):
    with running_sandbox(settings) as url:
        yield url


@pytest.fixture
async def markets(sessions, sandbox):
    await reset_markets(sessions, sandbox)
    yield sandbox
    await reset_markets(sessions, sandbox)


@pytest.fixture
def creds(settings):
    return market_settings(settings, market_timeout_s=1.0)


async def row(sessions, market: MarketType) -> Market:
    async with sessions() as session:
        return await session.scalar(select(Market).where(Market.type == market))


async def find(sessions, creds, **request):
    async with httpx.AsyncClient() as http:
        return await search(sessions, http, SearchRequest(**request), settings=creds)


async def test_a_search_reaches_all_five_markets(sessions, markets, creds):
    result = await find(sessions, creds, query="4k monitor", limit=30)
    assert {r.market: r.status for r in result.market_reports} == dict.fromkeys(MarketType, "ok")
    assert {o.market for o in result.offers} == set(MarketType)
    assert len({o.url for o in result.offers}) == len(result.offers)  # no url twice
    scores = [p.score for p in result.products]
    assert scores == sorted(scores, reverse=True)
    grouped = [p for p in result.products if len(p.offers) > 1]
    assert grouped, "some products are sold on several markets"
    for product in grouped:
        assert len({o.identity for o in product.offers}) == 1
        assert len({o.market for o in product.offers}) == len(product.offers)
        assert product.best.current_price == min(o.current_price for o in product.offers)


@pytest.mark.parametrize("size", ["27-inch", "27 inch", "27in", '27"'])
async def test_a_size_in_inches_finds_the_same_monitors_everywhere(sessions, markets, creds, size):
    result = await find(sessions, creds, query=f"{size} 4k monitor", limit=50)
    assert {o.market for o in result.offers} == set(MarketType)
    assert all('27"' in o.title for o in result.offers)


async def test_budget_and_discount_filters_hold_for_every_offer(sessions, markets, creds):
    result = await find(
        sessions, creds, query="monitor", max_price=Decimal(300), min_discount=Decimal(10)
    )
    assert result.offers
    for offer in result.offers:
        assert offer.current_price <= 300
        assert offer.discount_percent >= 10


async def test_only_the_markets_asked_for(sessions, markets, creds):
    result = await find(sessions, creds, query="laptop", markets=[MarketType.EBAY])
    assert [r.market for r in result.market_reports] == [MarketType.EBAY]
    assert {o.market for o in result.offers} == {MarketType.EBAY}


@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [
        ("slow", "timeout", "timeout: no answer within 1 s"),
        ("error", "error", "MarketError: HTTP 500"),
        ("rate_limit", "rate_limited", "HTTP 429"),
        ("malformed", "error", "MalformedResponse: body is not JSON"),
    ],
)
async def test_one_broken_market_leaves_the_others_working(
    sessions, markets, creds, mode, status, error
):
    await set_fault(markets, "walmart", mode, delay_s=3 if mode == "slow" else 0)
    result = await find(sessions, creds, query="4k monitor")
    reports = {r.market: r for r in result.market_reports}
    assert reports[MarketType.WALMART].status == status
    assert all(r.status == "ok" for m, r in reports.items() if m is not MarketType.WALMART)
    assert {o.market for o in result.offers} == set(MarketType) - {MarketType.WALMART}
    assert result.elapsed_ms < 2500  # the slow market is cut off at its timeout
    walmart = await row(sessions, MarketType.WALMART)
    assert walmart.error_count == 1
    assert walmart.last_error.startswith(error)
    assert walmart.last_error_at is not None
    expected = MarketStatus.RATE_LIMITED if mode == "rate_limit" else MarketStatus.ACTIVE
    assert walmart.status is expected


async def test_a_remote_429_keeps_the_market_aside_until_the_window_ends(sessions, markets, creds):
    await set_fault(markets, "ebay", "rate_limit")
    await find(sessions, creds, query="tv")
    await set_fault(markets, "ebay", "ok")
    result = await find(sessions, creds, query="tv")
    report = next(r for r in result.market_reports if r.market is MarketType.EBAY)
    assert report.status == "rate_limited"
    assert "rate limited until" in report.detail
    async with sessions() as session, session.begin():  # the window (60 s) has passed
        await session.execute(
            update(Market)
            .where(Market.type == MarketType.EBAY)
            .values(
                last_rate_reset=Market.last_rate_reset
                - health.RATE_WINDOW_DEFAULT_S * 2 * timedelta(seconds=1)
            )
        )
    result = await find(sessions, creds, query="tv")
    report = next(r for r in result.market_reports if r.market is MarketType.EBAY)
    assert report.status == "ok"
    assert (await row(sessions, MarketType.EBAY)).status is MarketStatus.ACTIVE


async def test_repeated_failures_put_a_market_in_error_with_backoff(sessions, markets, creds):
    await set_fault(markets, "target", "error")
    for _ in range(creds.market_error_threshold):
        await find(sessions, creds, query="tv", markets=[MarketType.TARGET])
    target = await row(sessions, MarketType.TARGET)
    assert target.status is MarketStatus.ERROR
    assert target.error_count == creds.market_error_threshold
    asked = (await _state(markets))["requests"]["target"]
    result = await find(sessions, creds, query="tv", markets=[MarketType.TARGET])
    assert result.market_reports[0].status == "error"
    assert "backing off" in result.market_reports[0].detail
    assert (await _state(markets))["requests"]["target"] == asked  # not even asked
    # After the backoff, one try; it succeeds and the market is healthy again.
    await set_fault(markets, "target", "ok")
    no_backoff = creds.model_copy(update={"market_backoff_s": 0, "market_backoff_max_s": 0})
    result = await find(sessions, no_backoff, query="tv", markets=[MarketType.TARGET])
    assert result.market_reports[0].status == "ok"
    target = await row(sessions, MarketType.TARGET)
    assert (target.status, target.error_count) == (MarketStatus.ACTIVE, 0)


async def _state(sandbox):
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{sandbox}/_sandbox/state")).json()


@pytest.mark.parametrize("status", [MarketStatus.MAINTENANCE, MarketStatus.INACTIVE])
async def test_maintenance_and_inactive_markets_are_skipped(sessions, markets, creds, status):
    async with sessions() as session, session.begin():
        await session.execute(
            update(Market).where(Market.type == MarketType.AMAZON).values(status=status)
        )
    result = await find(sessions, creds, query="tv")
    report = next(r for r in result.market_reports if r.market is MarketType.AMAZON)
    assert (report.status, report.detail) == ("skipped", f"market is {status.value}")
    assert MarketType.AMAZON not in {o.market for o in result.offers}


async def test_the_local_rate_limit_is_enforced_and_reported(sessions, markets, creds):
    async with sessions() as session, session.begin():
        await session.execute(
            update(Market)
            .where(Market.type == MarketType.BESTBUY)
            .values(rate_limit=2, rate_limit_window=60)
        )
    statuses = []
    for _ in range(3):
        result = await find(sessions, creds, query="tv", markets=[MarketType.BESTBUY])
        statuses.append(result.market_reports[0].status)
    assert statuses == ["ok", "ok", "rate_limited"]
    bestbuy = await row(sessions, MarketType.BESTBUY)
    assert (bestbuy.status, bestbuy.current_rate) == (MarketStatus.RATE_LIMITED, 2)


HAMMER = textwrap.dedent("""
    import asyncio, sys, uuid
    from core.config import Settings
    from core.db import create_engine, session_factory
    from markets import health

    async def main(url, market_id, n):
        settings = Settings(
            database_url=url, db_pool_min=1, db_pool_max=4, db_pool_overflow=0, _env_file=None
        )
        engine = create_engine(settings, url)
        sessions = session_factory(engine)
        verdicts = await asyncio.gather(
            *(health.acquire(sessions, uuid.UUID(market_id), settings) for _ in range(n))
        )
        await engine.dispose()
        print(sum(v.verdict == "admitted" for v in verdicts))

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
""")


async def test_two_processes_share_one_rate_limit(sessions, markets, database):
    limit = 25
    async with sessions() as session, session.begin():
        await session.execute(
            update(Market)
            .where(Market.type == MarketType.WALMART)
            .values(rate_limit=limit, rate_limit_window=3600)
        )
    market_id = str((await row(sessions, MarketType.WALMART)).id)
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            HAMMER,
            database,
            market_id,
            "20",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    admitted = [int(out.decode()) for out, _ in outputs]
    assert sum(admitted) == limit  # 40 asked, exactly 25 let through, no more, no fewer
    walmart = await row(sessions, MarketType.WALMART)
    assert (walmart.current_rate, walmart.status) == (limit, MarketStatus.RATE_LIMITED)


async def test_a_search_takes_about_as_long_as_its_slowest_market(sessions, markets, creds):
    for market in ("amazon", "ebay", "walmart", "target", "bestbuy"):
        await set_fault(markets, market, "slow", delay_s=0.4)
    result = await find(sessions, creds, query="4k monitor")
    assert all(r.status == "ok" for r in result.market_reports)
    assert result.elapsed_ms < 1500  # five markets of 0.4 s each: in parallel, not 2 s


async def test_an_empty_query_is_refused(sessions, markets, creds):
    with pytest.raises(ValueError, match="empty"):
        await find(sessions, creds, query="   ")


async def test_best_buy_over_its_call_limit_is_rate_limited(sessions, markets, creds):
    await set_fault(markets, "bestbuy", "rate_limit")  # 403, as Best Buy documents it
    result = await find(sessions, creds, query="tv", markets=[MarketType.BESTBUY])
    (report,) = result.market_reports
    assert report.status == "rate_limited" and "HTTP 403" in report.detail
    assert (await row(sessions, MarketType.BESTBUY)).status is MarketStatus.RATE_LIMITED


async def test_a_retry_after_sets_how_long_the_market_stays_aside(sessions, markets, creds):
    bestbuy = await row(sessions, MarketType.BESTBUY)
    await health.record_failure(
        sessions, bestbuy.id, creds, "429", remote_rate_limited=True, retry_after_s=600
    )
    admission = await health.acquire(sessions, bestbuy.id, creds)
    assert admission.verdict is health.Verdict.RATE_LIMITED
    async with sessions() as session:
        left = await session.scalar(
            select(Market.last_rate_reset + timedelta(seconds=60) - func.now()).where(
                Market.id == bestbuy.id
            )
        )
    assert timedelta(seconds=590) < left <= timedelta(seconds=600)


async def test_an_unreadable_item_is_skipped_counted_and_shown(sessions, markets, creds):
    body = json.loads((SAMPLES / "ebay" / "browse_search_nvidia_t4.json").read_text())
    del body["itemSummaries"][1]["price"]

    async def token(request):
        return JSONResponse({"access_token": "t", "expires_in": 7200})

    async def summaries(request):
        return JSONResponse(body)

    app = Starlette(
        routes=[
            Route("/identity/v1/oauth2/token", token, methods=["POST"]),
            Route("/buy/browse/v1/item_summary/search", summaries),
        ]
    )
    with serve_in_thread(app) as ebay:
        async with sessions() as session, session.begin():
            await session.execute(
                update(Market).where(Market.type == MarketType.EBAY).values(base_url=ebay)
            )
        for _ in range(2):
            result = await find(sessions, creds, query="nvidia t4", markets=[MarketType.EBAY])
    (report,) = result.market_reports
    assert (report.status, report.count) == ("ok", 2)
    assert "skipped 1 unreadable item(s): item 1: MalformedResponse" in report.detail
    skipped = (await row(sessions, MarketType.EBAY)).meta_data["skipped_items"]
    assert (skipped["total"], skipped["last_count"]) == (2, 1)
    assert "neither price nor current bid" in skipped["last_reason"]
    async with sessions() as session:
        shown = await list_markets(session, principal=None)
    ebay_out = next(m for m in shown.markets if m.type is MarketType.EBAY)
    assert ebay_out.skipped_items is not None and ebay_out.skipped_items.total == 2
