"""Tracking a product page by its URL: read what the fetch needs, fetch the page with no
database connection held, then write what it showed in one short transaction (a slow
shop must never hold a connection or a transaction other users need)."""

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import deals
from core.db import in_transaction, reading
from core.models import Deal
from markets.product_page import PageGone, ProductPage, fetch_product_page


async def track_product_url(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    user_id: uuid.UUID,
    goal_id: uuid.UUID,
    url: str,
    *,
    allow_private: bool,
    timeout_s: float,
) -> Deal:
    """Read the page's schema.org Product/Offer and track it as a deal of the user's goal."""
    deals.check_page_url(url)
    async with reading(sessions) as session:
        await deals.owned_goal(session, user_id, goal_id)  # nothing fetched for a stranger
        trusted = await deals.trusted_origins(session)
    page = await fetch_product_page(
        http, url, trusted_origins=trusted, allow_private=allow_private, timeout_s=timeout_s
    )
    return await in_transaction(
        sessions, lambda session: deals.record_tracked_page(session, user_id, goal_id, url, page)
    )


async def refresh_deal(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    user_id: uuid.UUID,
    deal_id: uuid.UUID,
    *,
    allow_private: bool,
    timeout_s: float,
) -> Deal:
    """Read the deal's page again: a new price observation, or expired when it is gone."""
    async with reading(sessions) as session:
        deal = await deals.deal_of(session, user_id, deal_id)
        trusted = await deals.trusted_origins(session)
    page: ProductPage | None
    try:
        page = await fetch_product_page(
            http,
            deal.url,
            trusted_origins=trusted,
            allow_private=allow_private,
            timeout_s=timeout_s,
        )
    except PageGone:
        page = None
    return await in_transaction(
        sessions, lambda session: deals.record_refreshed_page(session, user_id, deal_id, page)
    )
