"""Each adapter against the sandbox over real HTTP: the request shape the real API wants
(the sandbox checks SigV4, eBay's OAuth flow, Walmart's RSA signature, the keys) and the
parsing of its answer. Plus SigV4 against the S3 documentation's example (AWS's own test
suite is tests/test_sigv4_suite.py)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import RedirectResponse, StreamingResponse
from starlette.routing import Route

from core.config import Settings
from core.models.enums import DealSource, MarketCategory, MarketType
from core.reference_data import DEFAULT_MARKETS
from markets import oauth, sigv4
from markets.adapters import adapter_for
from markets.base import Endpoint, MalformedResponse, MarketError, MarketQuery, NotConfigured
from markets.product_page import (
    ForbiddenAddress,
    NotAProductPage,
    PageGone,
    fetch_product_page,
)
from tests.live_server import serve_in_thread
from tests.markets_support import admin, market_settings, running_sandbox, set_fault

ENDPOINTS = {market_type: path for _, market_type, _, path in DEFAULT_MARKETS}


def test_sigv4_matches_the_aws_s3_documentation_example():
    # "Example: GET Object" of the AWS S3 SigV4 documentation.
    header = sigv4.authorization(
        method="GET",
        path="/test.txt",
        headers={
            "Host": "examplebucket.s3.amazonaws.com",
            "Range": "bytes=0-9",
            "x-amz-content-sha256": sigv4.sha256_hex(b""),
            "x-amz-date": "20130524T000000Z",
        },
        payload=b"",
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        service="s3",
        amz_date="20130524T000000Z",
    )
    assert header == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


@pytest.fixture(scope="module")
def sandbox(settings):
    with running_sandbox(settings) as url:
        yield url


@pytest.fixture
def creds(settings):
    return market_settings(settings)


async def run(market, creds, sandbox, query):
    async with httpx.AsyncClient() as http:
        endpoint = Endpoint(sandbox, ENDPOINTS[market])
        return await adapter_for(market, creds).search(http, endpoint, query)


@pytest.mark.parametrize("market", list(MarketType))
async def test_each_adapter_searches_and_parses(market, creds, sandbox):
    offers = await run(market, creds, sandbox, MarketQuery("4k monitor", limit=5))
    assert 1 <= len(offers) <= 5
    for offer in offers:
        assert offer.market is market
        assert "4K Monitor" in offer.title
        assert offer.url.startswith(sandbox)
        assert isinstance(offer.current_price, Decimal) and offer.current_price > 0
        assert offer.category is MarketCategory.ELECTRONICS
        assert offer.item_id
        if offer.original_price is not None:
            assert offer.original_price > offer.current_price
            assert offer.discount_percent > 0
    assert offers[0].source == (DealSource.SCRAPER if market is MarketType.TARGET else market)
    if market is not MarketType.EBAY:  # eBay's item summaries carry no GTIN
        assert all(offer.upc and len(offer.upc) == 12 for offer in offers)


@pytest.mark.parametrize("market", list(MarketType))
async def test_filters_reach_the_market(market, creds, sandbox):
    query = MarketQuery("monitor", max_price=Decimal("250"), limit=10)
    offers = await run(market, creds, sandbox, query)
    if market is MarketType.TARGET:  # RedSky's search takes no price filter
        return
    assert offers and all(offer.current_price <= Decimal("250") for offer in offers)


@pytest.mark.parametrize(
    ("market", "field", "value"),
    [
        (MarketType.AMAZON, "amazon_secret_key", "wrong"),
        (MarketType.EBAY, "ebay_client_secret", "wrong"),
        (MarketType.BESTBUY, "bestbuy_api_key", "wrong"),
        (MarketType.TARGET, "target_api_key", "wrong"),
        (MarketType.WALMART, "walmart_consumer_id", "someone-else"),
    ],
)
async def test_wrong_credentials_are_refused_by_the_market(market, field, value, creds, sandbox):
    oauth._tokens.clear()
    with pytest.raises(MarketError, match=r"HTTP 40[13]"):
        await run(market, creds.model_copy(update={field: value}), sandbox, MarketQuery("tv"))


async def test_missing_credentials_say_so(creds, sandbox):
    with pytest.raises(NotConfigured, match="amazon"):
        await run(
            MarketType.AMAZON,
            creds.model_copy(update={"amazon_access_key": None}),
            sandbox,
            MarketQuery("tv"),
        )


async def test_ebay_token_is_fetched_once_and_reused_until_expiry(creds, sandbox):
    oauth._tokens.clear()
    before = (await admin(sandbox, "GET", "state"))["tokens_issued"]
    for _ in range(3):
        await run(MarketType.EBAY, creds, sandbox, MarketQuery("laptop"))
    assert (await admin(sandbox, "GET", "state"))["tokens_issued"] == before + 1
    for cached in oauth._tokens.values():
        cached.expires_at = 0  # as if two hours went by
    await run(MarketType.EBAY, creds, sandbox, MarketQuery("laptop"))
    assert (await admin(sandbox, "GET", "state"))["tokens_issued"] == before + 2


async def test_malformed_json_is_reported_as_such(creds, sandbox):
    await set_fault(sandbox, "bestbuy", "malformed")
    try:
        with pytest.raises(MalformedResponse):
            await run(MarketType.BESTBUY, creds, sandbox, MarketQuery("tv"))
    finally:
        await set_fault(sandbox, "bestbuy", "ok")


async def test_an_answer_in_the_wrong_shape_is_malformed(creds):
    from markets.ebay import EbayAdapter, parse_item

    adapter = EbayAdapter(creds)
    with pytest.raises(MalformedResponse):
        adapter.parse_each({"not": "a list"}, parse_item)
    assert adapter.skipped == []


async def test_product_pages_carry_schema_org_offers(creds, sandbox):
    (offer,) = await run(MarketType.TARGET, creds, sandbox, MarketQuery("air fryer", limit=1))
    async with httpx.AsyncClient() as http:
        page = await fetch_product_page(http, offer.url, allow_private=True, timeout_s=10)
        assert page.title == offer.title
        assert page.price == offer.current_price
        assert page.gtin == offer.upc
        with pytest.raises(PageGone):
            await fetch_product_page(
                http, f"{sandbox}/target/p/x/-/A-1", allow_private=True, timeout_s=10
            )


async def test_every_redirect_hop_is_checked(sandbox):
    """A trusted origin may not redirect the fetch to a private address."""
    page = f"{sandbox}/amazon/dp/B0000000"

    async def bounce(request):
        return RedirectResponse(page, status_code=302)

    app = Starlette(routes=[Route("/go", bounce)])
    with serve_in_thread(app) as hop:
        async with httpx.AsyncClient() as http:
            with pytest.raises(ForbiddenAddress):
                await fetch_product_page(
                    http, f"{hop}/go", trusted_origins=frozenset({hop}), timeout_s=10
                )
            with pytest.raises(PageGone):  # allowed, it reaches the sandbox: no such item
                await fetch_product_page(
                    http, f"{hop}/go", trusted_origins=frozenset({hop, sandbox}), timeout_s=10
                )


async def test_an_oversized_page_is_refused_without_reading_it_all():
    async def huge(request):
        chunk = b"<p>" + b"x" * 65_536 + b"</p>"

        async def body():
            for _ in range(200):  # ~13 MB, more than MAX_PAGE_BYTES
                yield chunk

        return StreamingResponse(body(), media_type="text/html")

    with serve_in_thread(Starlette(routes=[Route("/big", huge)])) as url:
        async with httpx.AsyncClient() as http:
            with pytest.raises(NotAProductPage, match="larger than"):
                await fetch_product_page(http, f"{url}/big", allow_private=True, timeout_s=10)


@pytest.mark.parametrize(
    ("market", "setting", "marker"),
    [
        (MarketType.AMAZON, {}, "tag=dealagent-20"),
        (MarketType.EBAY, {"ebay_campaign_id": "5338"}, "campid=5338"),
        (MarketType.WALMART, {"walmart_publisher_id": "pub77"}, "sourceid=imp_pub77"),
    ],
)
async def test_deal_links_are_affiliate_links_when_configured(
    market, setting, marker, creds, sandbox
):
    oauth._tokens.clear()
    plain = await run(market, creds, sandbox, MarketQuery("monitor", limit=5))
    tracked = await run(
        market, creds.model_copy(update=setting), sandbox, MarketQuery("monitor", limit=5)
    )
    assert tracked and all(marker in offer.url for offer in tracked)
    if market is not MarketType.AMAZON:  # Amazon's links carry the partner tag already
        assert not any(marker in offer.url for offer in plain)


async def test_the_sandbox_serves_the_awkward_items_real_apis_send(creds, sandbox):
    """eBay auctions (a current bid, no price); Target sale items priced only in display
    strings: all parsed, none skipped."""
    query = MarketQuery("monitor", limit=50)
    async with httpx.AsyncClient() as http:
        ebay_adapter = adapter_for(MarketType.EBAY, creds)
        offers = await ebay_adapter.search(
            http, Endpoint(sandbox, ENDPOINTS[MarketType.EBAY]), query
        )
        assert any(o.product_specs.get("auction") for o in offers)
        target = adapter_for(MarketType.TARGET, creds)
        endpoint = Endpoint(sandbox, ENDPOINTS[MarketType.TARGET])
        offers = await target.search(http, endpoint, query)
        raw = await http.get(
            endpoint.url, params={"key": creds.target_api_key, "keyword": "monitor"}
        )
    shown_only = [
        p["tcin"]
        for p in raw.json()["data"]["search"]["products"]
        if "current_retail" not in p["price"]
    ]
    assert shown_only and set(shown_only) <= {o.item_id for o in offers}
    assert ebay_adapter.skipped == target.skipped == []


async def test_the_sandbox_refuses_retired_amazon_resources(sandbox):
    from markets.amazon import capitalized, search_body, signed_headers

    settings = market_settings(Settings())
    body = capitalized(search_body(settings, MarketQuery("tv")))
    body["Resources"].append("Offers.Listings.Price")
    payload = json.dumps(body).encode()
    url = sandbox + ENDPOINTS[MarketType.AMAZON]
    headers = signed_headers(settings, url, payload, datetime.now(UTC))
    async with httpx.AsyncClient() as http:
        response = await http.post(url, content=payload, headers=headers)
    assert response.status_code == 400
    assert "[Offers.Listings.Price]" in response.json()["Errors"][0]["Message"]


async def test_with_the_sandbox_amazon_speaks_pa_api_even_with_a_creators_credential(
    settings, sandbox
):
    real = settings.model_copy(
        update={"amazon_credential_id": "x", "amazon_credential_secret": "y"}
    )
    offers = await run(MarketType.AMAZON, market_settings(real), sandbox, MarketQuery("monitor"))
    assert offers and all(offer.url.startswith(sandbox) for offer in offers)
