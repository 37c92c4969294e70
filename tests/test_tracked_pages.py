"""Tracking real saved product pages (tests/pages/) through the real path: a local shop
server at the markets' own origin, track_product_url and refresh_deal, PostgreSQL; and the
monitor's job (monitor.queue.run_check) reading the tracked pages again."""

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from procrastinate import JobContext
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from core.deals import DealError, price_history
from core.mailer import LogMailer
from core.models import Deal, Goal, Market, Notification, User
from core.models.enums import DealStatus, MarketStatus, MarketType, NotificationType
from markets.tracking import refresh_deal, track_product_url
from monitor.check import MonitorDeps
from monitor.queue import run_check
from tests.live_server import serve_in_thread
from tests.markets_support import make_user_goal
from tests.page_corpus import saved_pages

PAGES = {page.name: page for page in saved_pages()}
# The page now behind /walmart/restocking (and /target/changing): tests switch it between
# saved pages.
RESTOCKING = {"page": "wayfair"}
CHANGING = {"page": "wayfair"}


def shop_page(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "restocking":
        name = RESTOCKING["page"]
    elif name == "changing":
        name = CHANGING["page"]
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
    ("market", "name"),
    [
        (MarketType.AMAZON, "amazon-gorilla"),
        (MarketType.AMAZON, "amazon-com-relay"),
        (MarketType.AMAZON, "amazon-sconce"),
        (MarketType.AMAZON, "amazon-com-kindle"),
        (MarketType.WALMART, "walmart"),
        (MarketType.TARGET, "target"),
        (MarketType.BESTBUY, "bestbuy"),
        (MarketType.EBAY, "ebay-massage-chair"),
    ],
)
async def test_tracking_a_saved_market_page_gives_its_price(
    sessions, markets_at_shop, http, market, name
):
    user, goal = await make_user_goal(sessions)
    deal = await track(sessions, http, user, goal, f"{markets_at_shop}/{market.value}/{name}")
    assert deal.meta_data["market"] == market.value
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


async def run_monitor_check(sessions, settings, http, goal_id) -> None:
    """The monitor's job for the goal's current slot, as a worker runs it."""
    async with sessions() as session:
        slot = await session.scalar(select(Goal.last_checked_at).where(Goal.id == goal_id))
    deps = MonitorDeps(sessions, http, settings, LogMailer())
    context = JobContext(
        app=None, job=None, start_timestamp=0, abort_reason=lambda: None,
        additional_context={"deps": deps, "monitor": None},
    )  # fmt: skip
    await run_check(context, goal_id=str(goal_id), slot=slot.isoformat() if slot else None)


async def watched(sessions, **goal_fields: object):
    """A user with tokens for checks and a goal with these fields."""
    user, goal = await make_user_goal(sessions)
    async with sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == user.id).values(token_balance=10))
        await session.execute(update(Goal).where(Goal.id == goal.id).values(**goal_fields))
    return user, goal


async def state_of(sessions, user, deal_id):
    async with sessions() as session:
        deal = await session.get(Deal, deal_id)
        history = await price_history(session, user.id, deal_id)
        told = await session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at)
        )
        return deal, [h.price for h in history], [(n.type, n.title) for n in told]


async def test_the_monitor_reads_a_tracked_page_again_and_alerts_a_drop(
    sessions, markets_at_shop, http, settings
):
    user, goal = await watched(sessions, target_price=Decimal("100"))
    CHANGING["page"] = "wayfair"  # 111.99
    deal = await track(sessions, http, user, goal, f"{markets_at_shop}/target/changing")
    CHANGING["page"] = "jossandmain"  # 98.99, under the target
    async with sessions() as session, session.begin():  # the markets give nothing
        await session.execute(update(Market).values(status=MarketStatus.MAINTENANCE))
    try:
        await run_monitor_check(sessions, settings, http, goal.id)
    finally:
        async with sessions() as session, session.begin():
            await session.execute(update(Market).values(status=MarketStatus.ACTIVE))
    after, prices, told = await state_of(sessions, user, deal.id)
    assert (after.current_price, after.status) == (Decimal("98.99"), DealStatus.ACTIVE)
    assert prices == [Decimal("111.99"), Decimal("98.99")]
    (alert,) = [title for kind, title in told if kind == NotificationType.PRICE_ALERT]
    assert alert.startswith("Price drop: ")
    async with sessions() as session:
        checked = await session.get(Goal, goal.id)
    assert checked.total_tokens_spent == Decimal("0.5")  # one stored check, charged


async def test_the_monitor_follows_a_tracked_page_sold_out_restocked_and_gone(
    sessions, markets_at_shop, http, settings
):
    user, goal = await watched(sessions, title="  ")  # no market query: only its pages
    RESTOCKING["page"] = "wayfair"
    deal = await track(sessions, http, user, goal, f"{markets_at_shop}/walmart/restocking")
    RESTOCKING["page"] = "potterybarn"  # no price, "No longer available"
    await run_monitor_check(sessions, settings, http, goal.id)
    sold_out, prices, _ = await state_of(sessions, user, deal.id)
    assert (sold_out.current_price, sold_out.status) == (Decimal("111.99"), DealStatus.SOLD_OUT)
    assert prices == [Decimal("111.99")]  # no price, no observation

    RESTOCKING["page"] = "wayfair"
    await run_monitor_check(sessions, settings, http, goal.id)
    restocked, prices, told = await state_of(sessions, user, deal.id)
    assert restocked.status == DealStatus.ACTIVE
    assert prices == [Decimal("111.99")] * 2
    titles = [title for _, title in told]
    assert titles[0].startswith("New match: ") and titles[1].startswith("Back in stock: ")
    assert len(titles) == 2

    RESTOCKING["page"] = "no-such-page"  # 404: delisted
    await run_monitor_check(sessions, settings, http, goal.id)
    gone, _, _ = await state_of(sessions, user, deal.id)
    assert gone.status == DealStatus.EXPIRED
