"""REST over real HTTP: /api/v1/deals, /deals/{id}, /deals/{id}/prices, /markets, each
for the signed-in user only; the app runs its own sandbox marketplace."""

import uuid

import httpx
import pytest
from sqlalchemy import select

from api.main import create_app
from core.deals import record_offers
from core.models import Goal, Market
from core.models.enums import MarketCategory
from markets.search import SearchRequest, search
from tests.accounts_client import bearer, signed_up
from tests.live_server import serve_in_thread
from tests.markets_support import market_settings, set_day, set_fault


@pytest.fixture(scope="module")
def sessions(module_db):
    return module_db.sessions


@pytest.fixture(scope="module")
def database(module_db):
    return module_db.url


@pytest.fixture(scope="module")
def app_settings(settings, database):
    return settings.model_copy(update={"database_url": database, "sandbox_port": 0})


@pytest.fixture(scope="module")
def base_url(app_settings, sessions):
    with serve_in_thread(create_app(app_settings)) as url:
        yield url


@pytest.fixture
async def client(base_url):
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1") as client:
        yield client


async def sandbox_url(sessions) -> str:
    async with sessions() as session:
        return (await session.scalars(select(Market.base_url))).first()


async def user_with_deals(client, sessions, app_settings):
    """A signed-up user with a goal whose deals were seen on two days."""
    user, tokens = await signed_up(client)
    async with sessions() as session, session.begin():
        goal = Goal(
            user_id=uuid.UUID(user["id"]), title="monitor", category=MarketCategory.ELECTRONICS
        )
        session.add(goal)
    sandbox = await sandbox_url(sessions)
    async with httpx.AsyncClient() as http:
        for day in ("2026-12-01", "2026-12-09"):
            await set_day(sandbox, day)
            result = await search(
                sessions, http, SearchRequest("4k monitor"), settings=market_settings(app_settings)
            )
            async with sessions() as session, session.begin():
                await record_offers(session, await session.get(Goal, goal.id), result.offers)
    await set_day(sandbox, None)
    return bearer(tokens), goal


async def test_deals_prices_and_scoping(client, sessions, app_settings):
    auth, goal = await user_with_deals(client, sessions, app_settings)
    other_auth, _ = await user_with_deals(client, sessions, app_settings)
    response = await client.get("/deals", params={"sort": "price", "limit": 100}, headers=auth)
    assert response.status_code == 200, response.text
    listed = response.json()["deals"]
    assert listed and {d["goal_id"] for d in listed} == {str(goal.id)}
    prices = [float(d["current_price"]) for d in listed]
    assert prices == sorted(prices)
    assert all(isinstance(d["current_price"], str) for d in listed)  # Decimal, not float
    deal = listed[0]
    one = await client.get(f"/deals/{deal['id']}", headers=auth)
    assert one.status_code == 200 and one.json()["url"] == deal["url"]
    history = await client.get(f"/deals/{deal['id']}/prices", headers=auth)
    assert history.status_code == 200
    assert 1 <= len(history.json()["prices"]) <= 2
    assert history.json()["prices"][-1]["price"] == deal["current_price"]
    # Another user sees neither the deal nor its prices, and nothing in a list.
    for path in (f"/deals/{deal['id']}", f"/deals/{deal['id']}/prices"):
        refused = await client.get(path, headers=other_auth)
        assert (refused.status_code, refused.json()["code"]) == (404, "deal_not_found")
    theirs = await client.get("/deals", params={"goal_id": str(goal.id)}, headers=other_auth)
    assert theirs.json()["deals"] == []
    found = await client.get("/deals", params={"text": "monitors"}, headers=auth)
    assert found.json()["deals"]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"sort": "cheapest"}, {"market": "aliexpress"}, {"x": 1}],
)
async def test_bad_filters_are_422(client, params):
    _, tokens = await signed_up(client)
    response = await client.get("/deals", params=params, headers=bearer(tokens))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


async def test_deals_need_a_token(client):
    for path in ("/deals", f"/deals/{uuid.uuid4()}", f"/deals/{uuid.uuid4()}/prices", "/markets"):
        assert (await client.get(path)).status_code == 401


async def test_markets_show_status_and_last_error(client, sessions, app_settings):
    _, tokens = await signed_up(client)
    sandbox = await sandbox_url(sessions)
    await set_fault(sandbox, "target", "error")
    try:
        async with httpx.AsyncClient() as http:
            await search(
                sessions, http, SearchRequest("tv"), settings=market_settings(app_settings)
            )
    finally:
        await set_fault(sandbox, "target", "ok")
    response = await client.get("/markets", headers=bearer(tokens))
    assert response.status_code == 200
    markets = {m["type"]: m for m in response.json()["markets"]}
    assert set(markets) == {"amazon", "walmart", "ebay", "target", "bestbuy"}
    assert all(m["sandbox"] for m in markets.values())
    assert markets["target"]["error_count"] >= 1
    assert "HTTP 500" in markets["target"]["last_error"]
    assert "api_key" not in markets["target"] and "base_url" not in markets["target"]
