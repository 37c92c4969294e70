"""Deals found for a goal and their price history: the upsert from market offers, the
user-scoped query (with full-text search), and recording product pages that markets/
fetched (markets.tracking); nothing here touches the network."""

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Select, case, literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.alerts import Observed, judge
from core.models import Deal, Goal, Market, PriceTracking, User
from core.models.enums import DealSource, DealStatus, MarketCategory, MarketType
from markets.base import Offer
from markets.product_page import ProductPage, origin

MAX_QUERY_LIMIT = 100
# Must stay identical to the expression of the ix_deals_fts index (migration 0002).
DEAL_DOCUMENT = (
    "to_tsvector('english'::regconfig, "
    "coalesce(deals.title, '') || ' ' || coalesce(deals.description, ''))"
)
KEPT_STATUSES = (DealStatus.DELETED, DealStatus.INVALID)  # set by people, not by observations


class DealError(Exception):
    """A request about deals that cannot be met (unknown goal, unknown market, ...)."""


@dataclass(frozen=True)
class DealFilters:
    goal_id: uuid.UUID | None = None
    status: DealStatus | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_discount: Decimal | None = None
    market: MarketType | None = None
    category: MarketCategory | None = None
    text: str | None = None
    sort: Literal["price", "discount", "newest"] = "newest"
    limit: int = 20


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


def _row(goal: Goal, market_id: uuid.UUID, offer: Offer, now: datetime) -> dict[str, Any]:
    return {
        "goal_id": goal.id,
        "market_id": market_id,
        "title": _clip(offer.title, 255),
        "description": offer.description,
        "url": offer.url,
        "image_url": offer.image_url,
        "current_price": offer.current_price,
        "original_price": offer.original_price,
        "currency": offer.currency[:3],
        "discount_percent": offer.discount_percent,
        "category": offer.category,
        "source": offer.source,
        "status": DealStatus.ACTIVE if offer.available else DealStatus.SOLD_OUT,
        "seller_name": _clip(offer.seller_name, 255),
        "seller_rating": offer.seller_rating,
        "availability_status": _clip(offer.availability, 50),
        "shipping_info": offer.shipping_info,
        "product_specs": offer.product_specs,
        "last_checked_at": now,
        "meta_data": {
            "market": offer.market.value,
            "item_id": offer.item_id,
            "upc": offer.upc,
            "gtin": offer.gtin,
            "mpn": offer.mpn,
            "identity": offer.identity,
            "misses": 0,  # checks of its market that did not offer it (monitor.check)
        },
    }


async def record_offers(session: AsyncSession, goal: Goal, offers: list[Offer]) -> list[Observed]:
    """Upsert each offer as the goal's deal for its url, and log every observed price.

    Runs in the caller's transaction. New deals raise the owner's users.total_deals_found
    by the number actually inserted; core.alerts.judge then tells which match the goal and
    notifies what they earned.
    """
    by_url = {offer.url: offer for offer in offers}  # one row per url, the last seen wins
    if not by_url:
        return []
    markets = dict((await session.execute(select(Market.type, Market.id))).all())
    now = datetime.now(UTC)
    previous = {
        url: (price, status)
        for url, price, status in await session.execute(
            select(Deal.url, Deal.current_price, Deal.status).where(
                Deal.goal_id == goal.id, Deal.url.in_(list(by_url))
            )
        )
    }
    # Both INSERTs below are compiled once and sent with a list of rows: one statement each
    # (insertmanyvalues), not a multi-VALUES statement compiled anew per check.
    rows = [_row(goal, markets[o.market], o, now) for o in by_url.values()]
    statement = insert(Deal)
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[Deal.goal_id, Deal.url],
        set_={
            "title": new.title,
            "description": new.description,
            "image_url": new.image_url,
            "current_price": new.current_price,
            "original_price": new.original_price,
            "currency": new.currency,
            "discount_percent": new.discount_percent,
            "seller_name": new.seller_name,
            "seller_rating": new.seller_rating,
            "availability_status": new.availability_status,
            "shipping_info": new.shipping_info,
            "product_specs": new.product_specs,
            "last_checked_at": new.last_checked_at,
            "meta_data": Deal.meta_data.op("||")(new.meta_data),
            # Not IN (...): an expanding parameter cannot go with a list of rows.
            "status": case(
                (or_(*(Deal.status == s for s in KEPT_STATUSES)), Deal.status), else_=new.status
            ),
        },
    ).returning(Deal, literal_column("xmax = 0").label("inserted"))
    # render_nulls: all rows in one INSERT, not one per set of None values
    statement = statement.execution_options(populate_existing=True, render_nulls=True)
    result = (await session.execute(statement, rows)).all()
    observed = []
    for row in result:
        before, status = previous.get(row.Deal.url, (None, None))
        back = status == DealStatus.SOLD_OUT and row.Deal.status == DealStatus.ACTIVE
        observed.append(Observed(row.Deal, before, row.inserted, restocked=back))
    await session.execute(  # observed is never empty: every row upserted is returned
        insert(PriceTracking),
        [
            {
                "deal_id": seen.deal.id,
                "price": seen.deal.current_price,
                "currency": seen.deal.currency,
                "source": seen.deal.source,
                "tracked_at": now,
                "meta_data": _observation(seen.previous_price, seen.deal),
            }
            for seen in observed
        ],
    )
    await _count_new(session, goal, sum(1 for seen in observed if seen.inserted))
    await session.flush()
    await judge(session, goal, observed)
    return observed


def _observation(before: Decimal | None, deal: Deal) -> dict[str, Any]:
    seen: dict[str, Any] = {"status": str(deal.status), "available": deal.status != "sold_out"}
    if before is not None and before != deal.current_price:
        seen["previous_price"] = str(before)
        seen["change"] = str(deal.current_price - before)
    return seen


async def _count_new(session: AsyncSession, goal: Goal, count: int) -> None:
    if count:
        await session.execute(
            update(User)
            .where(User.id == goal.user_id)
            .values(total_deals_found=User.total_deals_found + count)
        )


async def mark_expired(session: AsyncSession, deal: Deal) -> None:
    """The listing is gone (its page answers 404/410)."""
    if deal.status not in KEPT_STATUSES:
        deal.status = DealStatus.EXPIRED
    deal.last_checked_at = datetime.now(UTC)
    await session.flush()


async def mark_sold_out(session: AsyncSession, deal: Deal) -> None:
    """The page is there but shows no price: sold out, its last price kept."""
    if deal.status not in KEPT_STATUSES:
        deal.status = DealStatus.SOLD_OUT
    deal.last_checked_at = datetime.now(UTC)
    await session.flush()


def _scoped(user_id: uuid.UUID) -> Select[tuple[Deal]]:
    return select(Deal).join(Goal, Goal.id == Deal.goal_id).where(Goal.user_id == user_id)


async def query_deals(
    session: AsyncSession, user_id: uuid.UUID, filters: DealFilters
) -> list[Deal]:
    """The user's deals (through their goals) matching `filters`."""
    return list(await session.scalars(deals_statement(user_id, filters)))


# The deals a page's ids are ranked from (`deals` itself is the page's rows). Made once:
# a new aliased() per statement adapts every column anew, ~1 ms per query.
PICKED = aliased(Deal, name="picked")
SORT_KEYS = {"price": "current_price", "discount": "discount_percent", "newest": "found_at"}


def _order(key: ColumnElement[Any], deal_id: ColumnElement[Any], sort: str) -> list[Any]:
    """A page's order; the id breaks ties, so pages are stable."""
    first = {
        "price": key.asc(),
        "discount": key.desc().nulls_last(),
        "newest": key.desc(),
    }[sort]
    return [first, deal_id]


def deals_statement(user_id: uuid.UUID, filters: DealFilters) -> Select[tuple[Deal]]:
    """query_deals' statement (the bench EXPLAINs it).

    Reading every deal of the user's goals to keep a page of 20 is what cost the time (a
    user with 10 goals of 100 deals has them on 1,000 pages of the table). So the ids are
    ranked first from ix_deals_goal_listing, which holds every column the filters and
    sorts read (an index-only scan of the user's goals' entries), and only then are rows
    read from the table, by primary key: the page's rows alone; with a text filter (title
    and description are not in the index), rows in page order until the page is full, so
    a word few of the user's deals hold reads them all (docs/performance.md, section 5).
    """
    f = filters
    key = getattr(PICKED, SORT_KEYS[f.sort])
    q = (
        select(PICKED.id, key.label("key"))
        .join(Goal, Goal.id == PICKED.goal_id)
        .where(Goal.user_id == user_id)
    )
    if f.goal_id is not None:
        q = q.where(PICKED.goal_id == f.goal_id)
    if f.status is not None:
        q = q.where(PICKED.status == f.status)
    if f.min_price is not None:
        q = q.where(PICKED.current_price >= f.min_price)
    if f.max_price is not None:
        q = q.where(PICKED.current_price <= f.max_price)
    if f.min_discount is not None:
        q = q.where(PICKED.discount_percent >= f.min_discount)
    if f.category is not None:
        q = q.where(PICKED.category == f.category)
    if f.market is not None:
        q = q.join(Market, Market.id == PICKED.market_id).where(Market.type == f.market)
    limit = max(1, min(f.limit, MAX_QUERY_LIMIT))
    searched = f.text.strip() if f.text else ""
    ranked = q.order_by(*_order(key, PICKED.id, f.sort))
    # The ORDER BY keeps the ranking a subquery of its own, whose order the join below
    # keeps: with a text filter PostgreSQL reads rows in page order and stops at `limit`.
    page = (ranked if searched else ranked.limit(limit)).subquery("page")
    statement = select(Deal).join(page, page.c.id == Deal.id)
    if searched:
        statement = statement.where(
            text(f"{DEAL_DOCUMENT} @@ websearch_to_tsquery('english', :fts)").bindparams(
                fts=searched
            )
        )
    return statement.order_by(*_order(page.c.key, page.c.id, f.sort)).limit(limit)


async def get_deal(session: AsyncSession, user_id: uuid.UUID, deal_id: uuid.UUID) -> Deal | None:
    return await session.scalar(_scoped(user_id).where(Deal.id == deal_id))


async def price_history(
    session: AsyncSession, user_id: uuid.UUID, deal_id: uuid.UUID
) -> list[PriceTracking] | None:
    """The deal's observed prices, oldest first; None if the deal is not this user's."""
    if await get_deal(session, user_id, deal_id) is None:
        return None
    q = (
        select(PriceTracking)
        .where(PriceTracking.deal_id == deal_id)
        .order_by(PriceTracking.tracked_at, PriceTracking.id)
    )
    return list(await session.scalars(q))


async def owned_goal(session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID) -> Goal:
    goal = await session.scalar(select(Goal).where(Goal.id == goal_id, Goal.user_id == user_id))
    if goal is None:
        raise DealError(f"no goal {goal_id} among this user's goals")
    return goal


async def market_of_page(session: AsyncSession, url: str, page: ProductPage) -> MarketType:
    """Which of the five markets sells what this page shows: by host, by the host and path
    of a market row (the sandbox serves all five under one host), else by the seller named."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    for market in MarketType:
        if market.value in host.replace("-", "").replace(".", ""):
            return market
    rows = (await session.execute(select(Market.type, Market.base_url))).all()
    first_segment = parts.path.strip("/").split("/")[0]
    for market, base_url in rows:
        if urlsplit(base_url).netloc == parts.netloc and first_segment == market.value:
            return market
    seller = (page.seller_name or "").lower().replace(" ", "").replace(".", "")
    for market in MarketType:
        if market.value in seller:
            return market
    raise DealError(f"cannot tell which market sells {url}: not one of {', '.join(MarketType)}")


def page_offer(market: MarketType, page: ProductPage, category: MarketCategory) -> Offer:
    assert page.price is not None, "callers record priced pages only"
    return Offer(
        market=market,
        item_id=page.sku or page.url,
        title=page.title,
        url=page.url,
        current_price=page.price,
        source=DealSource.SCRAPER,
        currency=page.currency,
        original_price=page.original_price,
        image_url=page.image_url,
        description=page.description,
        seller_name=page.seller_name,
        available=page.available,
        availability=page.availability,
        product_specs={"brand": page.brand, "sku": page.sku},
        category=category,
        gtin=page.gtin,
        mpn=page.mpn,
    )


async def trusted_origins(session: AsyncSession) -> frozenset[str]:
    """The configured markets' origins: pages there may be fetched wherever they live (the
    sandbox's on loopback, say); any other page only from public addresses."""
    return frozenset(
        origin(base_url) for base_url in await session.scalars(select(Market.base_url))
    )


def check_page_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DealError(f"not an http(s) URL: {url!r}")


async def record_tracked_page(
    session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID, url: str, page: ProductPage
) -> Deal:
    """Track a page already fetched as a deal of the user's goal (source scraper, one
    price_tracking row per call). Runs in the caller's transaction."""
    goal = await owned_goal(session, user_id, goal_id)
    market = await market_of_page(session, url, page)
    if page.price is None:  # a deal needs a first price to compare later ones with
        raise DealError(
            f"{url} shows no price now ({page.availability or 'not for sale'}); "
            "track it again once it has one"
        )
    (seen,) = await record_offers(session, goal, [page_offer(market, page, goal.category)])
    # Read again at each check of the goal (monitor.tracked), never counted missing from
    # a market's results (market deals can come from scraped pages too: Target's).
    seen.deal.meta_data = {**seen.deal.meta_data, "tracked": True}
    await session.flush()
    return seen.deal


async def deal_of(session: AsyncSession, user_id: uuid.UUID, deal_id: uuid.UUID) -> Deal:
    deal = await get_deal(session, user_id, deal_id)
    if deal is None:
        raise DealError(f"no deal {deal_id} among this user's deals")
    return deal


async def record_refreshed_page(
    session: AsyncSession, user_id: uuid.UUID, deal_id: uuid.UUID, page: ProductPage | None
) -> Deal:
    """The deal's page read again: a new price observation, or (no page: it is gone) the
    deal expired. Runs in the caller's transaction."""
    deal = await deal_of(session, user_id, deal_id)
    offer = await read_again(session, deal, page)
    if offer is None:
        return deal
    goal = await owned_goal(session, user_id, deal.goal_id)
    (seen,) = await record_offers(session, goal, [offer])
    return seen.deal


async def read_again(session: AsyncSession, deal: Deal, page: ProductPage | None) -> Offer | None:
    """What a tracked deal's page shows now: gone (None) expires the deal, no price marks it
    sold out (its last price kept, a later price is the restock); a price is the offer to
    record, under the deal's own URL (a redirect must not start another deal)."""
    if page is None:
        await mark_expired(session, deal)
        return None
    if page.price is None:
        await mark_sold_out(session, deal)
        return None
    offer = page_offer(MarketType(deal.meta_data["market"]), page, deal.category)
    return replace(offer, url=deal.url)
