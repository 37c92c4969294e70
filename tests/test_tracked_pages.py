"""Tracking real saved product pages (tests/pages/) through the real path: a local shop
server at the markets' own origin, track_product_url and refresh_deal, PostgreSQL."""

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from core.deals import DealError, price_history
from core.models import Market
from core.models.enums import DealStatus, MarketStatus, MarketType
from markets.tracking import refresh_deal, track_product_url
from tests.live_server import serve_in_thread
from tests.markets_support import make_user_goal
from tests.page_corpus import saved_pages

PAGES = {page.name: page for page in saved_pages()}
# The page now behind /walmart/restocking: a test switches it between two saved pages.
RESTOCKING = {"page": "wayfair"}


def shop_page(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "restocking":
        name = RESTOCKING["page"]
    page = PAGES.get(name)
    return HTMLResponse(page.html) if page else Response(status_code=404)


@pytest.fixture(scope="module")
def sessions(module_db):
    return module_db.sessions


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    app = Starlette(routes=[Route("/{market}/{name}", shop_page)])
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
async def markets_at_shop(sessions, shop):
    """Every market row's base_url is the local shop, so its pages are a market's own."""
    async with sessions() as session, session.begin():
        await session.execute(update(Market).values(base_url=shop, status=MarketStatus.ACTIVE))
    return shop


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


async def track(sessions, http, user, goal, url):
    return await track_product_url(
        sessions, http, user.id, goal.id, url, allow_private=False, timeout_s=30
    )


@pytest.mark.parametrize(
    "name", ["amazon-gorilla", "amazon-com-relay", "amazon-sconce", "amazon-com-kindle"]
)
async def test_tracking_a_saved_amazon_page_gives_its_price(sessions, markets_at_shop, http, name):
    user, goal = await make_user_goal(sessions)
    deal = await track(sessions, http, user, goal, f"{markets_at_shop}/amazon/{name}")
    assert deal.meta_data["market"] == MarketType.AMAZON.value
    assert deal.current_price == Decimal(PAGES[name].truth["price"])
    assert (deal.currency, deal.status) == ("USD", DealStatus.ACTIVE)


async def test_a_page_without_a_price_cannot_start_a_deal(sessions, markets_at_shop, http):
    user, goal = await make_user_goal(sessions)
    with pytest.raises(DealError, match=r"shows no price now \(OutOfStock\)"):
        await track(sessions, http, user, goal, f"{markets_at_shop}/walmart/potterybarn")


async def test_a_tracked_page_sold_out_then_restocked(sessions, markets_at_shop, http):
    user, goal = await make_user_goal(sessions)
    RESTOCKING["page"] = "wayfair"
    deal = await track(sessions, http, user, goal, f"{markets_at_shop}/walmart/restocking")
    assert (deal.current_price, deal.status) == (Decimal("111.99"), DealStatus.ACTIVE)

    async def refreshed():
        return await refresh_deal(
            sessions, http, user.id, deal.id, allow_private=False, timeout_s=30
        )

    RESTOCKING["page"] = "potterybarn"  # no price, "No longer available"
    sold_out = await refreshed()
    assert (sold_out.current_price, sold_out.status) == (Decimal("111.99"), DealStatus.SOLD_OUT)
    RESTOCKING["page"] = "wayfair"
    restocked = await refreshed()
    assert restocked.status == DealStatus.ACTIVE
    async with sessions() as session:
        history = await price_history(session, user.id, deal.id)
    assert [h.price for h in history] == [Decimal("111.99")] * 2  # no price, no observation
