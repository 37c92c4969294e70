"""A goal's tracked product pages (deals started by track_product_url, marked `tracked`)
read again by its check: fetched a few at a time with no database connection held, then
stored in the check's one transaction with the market results."""

import asyncio
import logging
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.deals import read_again
from core.models import Deal, Goal
from core.models.enums import DealStatus
from markets.base import MarketError, Offer
from markets.product_page import PageGone, ProductPage, fetch_product_page

log = logging.getLogger(__name__)

PAGES_PER_CHECK = 20  # the least recently checked first, so every page gets its turn
FETCHES_AT_ONCE = 4
WATCHED = (DealStatus.ACTIVE, DealStatus.SOLD_OUT)  # expired pages are gone; deleted by people
TRACKED = Deal.meta_data["tracked"].as_boolean().is_(True)


@dataclass(frozen=True)
class PageRead:
    deal_id: uuid.UUID
    page: ProductPage | None  # None: the page is gone (404/410)


async def tracked_pages(session: AsyncSession, goal_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """The goal's tracked deals to read again: (id, url)."""
    rows = await session.execute(
        select(Deal.id, Deal.url)
        .where(Deal.goal_id == goal_id, TRACKED, Deal.status.in_(WATCHED))
        .order_by(Deal.last_checked_at.asc().nulls_first(), Deal.id)
        .limit(PAGES_PER_CHECK)
    )
    return [(deal_id, url) for deal_id, url in rows]


async def read_pages(
    http: httpx.AsyncClient,
    settings: Settings,
    pages: list[tuple[uuid.UUID, str]],
    trusted_origins: frozenset[str],
) -> list[PageRead]:
    """Each page fetched (the fetcher's size limit and address rules, PAGE_FETCH_TIMEOUT_S),
    FETCHES_AT_ONCE at a time. A page that could not be read is left out: its deal stays as
    it was until a later check reads it."""
    gate = asyncio.Semaphore(FETCHES_AT_ONCE)

    async def read(deal_id: uuid.UUID, url: str) -> PageRead | None:
        async with gate:
            try:
                page = await fetch_product_page(
                    http,
                    url,
                    trusted_origins=trusted_origins,
                    allow_private=settings.track_private_hosts,
                    timeout_s=settings.page_fetch_timeout_s,
                )
            except PageGone:
                page = None
            except MarketError as error:
                log.info("tracked page %s not read: %s", url, error)
                return None
        return PageRead(deal_id, page)

    reads = await asyncio.gather(*(read(deal_id, url) for deal_id, url in pages))
    return [read for read in reads if read is not None]


async def store_pages(session: AsyncSession, goal: Goal, reads: list[PageRead]) -> list[Offer]:
    """In the check's transaction: gone pages expire their deals, pages without a price mark
    them sold out; the priced pages' offers are returned, to be recorded (and judged) with
    the markets' offers. Deals deleted or stopped meanwhile are left alone."""
    if not reads:
        return []
    current = {
        deal.id: deal
        for deal in await session.scalars(
            select(Deal).where(
                Deal.goal_id == goal.id,
                Deal.id.in_([read.deal_id for read in reads]),
                TRACKED,
                Deal.status.in_(WATCHED),
            )
        )
    }
    offers = []
    for read in reads:
        deal = current.get(read.deal_id)
        if deal is not None and (offer := await read_again(session, deal, read.page)):
            offers.append(offer)
    return offers
