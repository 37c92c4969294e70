"""The market and deal tools: search_markets, query_deals, track_product_url, for the
signed-in user only (the user comes from runtime.context, never from the model)."""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from langchain.tools import ToolRuntime
from pydantic import Field
from sqlalchemy import func

from core import alerts, deals, goals, ledger
from core.db import reading
from core.models import Deal
from core.models.enums import DealStatus, GoalStatus, MarketCategory, MarketType
from core.plain import decimal_text
from markets import tracking
from markets.base import MarketError, Offer
from markets.product_page import ForbiddenAddress, NotAProductPage, PageGone, PageTimeout
from markets.search import MarketProgress, ProductMatch, SearchRequest, search
from tools.common import Percent, Price, ToolArgs, agent_tool
from tools.context import AgentContext, ServiceUse


class SearchMarketsArgs(ToolArgs):
    query: str = Field(min_length=1, max_length=200, pattern=r"\S", description="What to look for.")
    category: MarketCategory | None = Field(default=None, description="Market category.")
    max_price: Price | None = Field(default=None, description="Highest price (USD).")
    min_discount: Percent | None = Field(default=None, description="Least discount, 0-100.")
    markets: list[MarketType] | None = Field(
        default=None, description="Only these markets (amazon, walmart, ebay, target, bestbuy)."
    )
    goal_id: UUID | None = Field(
        default=None, description="One of the user's goals: the results are saved as its deals."
    )
    limit: int = Field(default=10, ge=1, le=50, description="How many products to return.")
    sort: Literal["relevance", "price", "discount"] = Field(
        default="relevance", description="relevance, price (cheapest first) or discount (biggest)."
    )


class QueryDealsArgs(ToolArgs):
    goal_id: UUID | None = Field(default=None, description="Only this goal's deals.")
    status: DealStatus | None = Field(default=None, description="active, sold_out, expired...")
    min_price: Price | None = Field(default=None, description="Lowest price (USD).")
    max_price: Price | None = Field(default=None, description="Highest price (USD).")
    min_discount: Percent | None = Field(default=None, description="Least discount, 0-100.")
    market: MarketType | None = Field(default=None, description="Only this market.")
    category: MarketCategory | None = Field(default=None, description="Only this category.")
    text: str | None = Field(
        default=None, max_length=200, description="Words to find in title or description."
    )
    sort: Literal["price", "discount", "newest"] = Field(default="newest", description="Order.")
    limit: int = Field(default=10, ge=1, le=100, description="How many deals to return.")


class TrackProductUrlArgs(ToolArgs):
    url: str = Field(min_length=8, max_length=2000, description="A product page's http(s) URL.")
    goal_id: UUID | None = Field(
        default=None,
        description="The goal to track it under (default: this chat's goal, else the user's "
        "only live goal).",
    )


def money(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def offer_view(offer: Offer) -> dict[str, Any]:
    return {
        "market": offer.market.value,
        "title": offer.title,
        "price": money(offer.current_price),
        "original_price": money(offer.original_price),
        "discount_percent": money(offer.discount_percent),
        "available": offer.available,
        "seller": offer.seller_name,
        "seller_rating": money(offer.seller_rating),
        "image_url": offer.image_url,
        "url": offer.url,
    }


def product_view(product: ProductMatch, deal_id: UUID | None = None) -> dict[str, Any]:
    view = offer_view(product.best)
    if deal_id is not None:  # saved as a deal of the goal: its price history can be asked
        view["deal_id"] = str(deal_id)
    view["also_at"] = [
        {"market": o.market.value, "price": money(o.current_price), "url": o.url}
        for o in product.offers[1:]
    ]
    return view


def sorted_products(products: list[ProductMatch], sort: str) -> list[ProductMatch]:
    """The markets' relevance order, or the order the user asked for."""
    if sort == "price":
        return sorted(products, key=lambda p: p.best.current_price)
    if sort == "discount":
        return sorted(products, key=lambda p: -(p.best.discount_percent or Decimal(0)))
    return products


def deal_view(deal: Deal) -> dict[str, Any]:
    return {
        "id": str(deal.id),
        "goal_id": str(deal.goal_id),
        "title": deal.title,
        "price": money(deal.current_price),
        "original_price": money(deal.original_price),
        "discount_percent": money(deal.discount_percent),
        "status": deal.status.value,
        "market": deal.meta_data.get("market"),
        "seller_rating": money(deal.seller_rating),
        "image_url": deal.image_url,
        "url": deal.url,
        "last_checked_at": deal.last_checked_at.isoformat() if deal.last_checked_at else None,
    }


async def within_goal_limit(ctx: AgentContext, goal_id: UUID, service: str, what: str) -> None:
    """Before a paid service for a goal: the goal must be the user's and its max_tokens must
    cover the price; if not, it is paused (its owner told) and nothing is done."""
    async with ctx.sessions.begin() as session:
        goal = await deals.owned_goal(session, ctx.user_id, goal_id)
        cost = ledger.cost(await ledger.current_price(session, service))
        limit = goal.max_tokens
        if limit is None or goal.total_tokens_spent + cost <= limit:
            return
        await goals.lock_user(session, ctx.user_id)  # the user's row first, as the ledger
        await session.refresh(goal, with_for_update=True)
        message = alerts.over_limit_text(goal, goal.total_tokens_spent, limit, cost, what)
        if goal.status == GoalStatus.ACTIVE:
            await alerts.stop_goal(session, goal, GoalStatus.PAUSED, "paused_token_limit", message)
    raise deals.DealError(message)


def market_frames(runtime: ToolRuntime[AgentContext]) -> Callable[[MarketProgress], None]:
    """Each market's progress as a `market_status` frame on the turn's stream (the chat
    shows it while the search runs)."""

    def write(step: MarketProgress) -> None:
        frame: dict[str, Any] = {
            "type": "market_status",
            "call_id": runtime.tool_call_id,
            "market": step.market.value,
            "status": step.status,
        }
        if step.report is not None:
            frame |= {"count": step.report.count, "elapsed_ms": step.report.elapsed_ms}
        runtime.stream_writer(frame)

    return write


@agent_tool(SearchMarketsArgs)
async def search_markets(runtime: ToolRuntime[AgentContext], **fields: Any) -> dict[str, Any]:
    """Search Amazon, Walmart, eBay, Target and Best Buy at once for current offers.

    Products sold on several markets come once, cheapest offer first, with `also_at`.
    Each market's status (ok, timeout, error, rate_limited, skipped) is in `markets`."""
    args = SearchMarketsArgs(**fields)
    ctx = runtime.context
    if args.goal_id is not None:
        await within_goal_limit(ctx, args.goal_id, "market_search", "this search")
    request = SearchRequest(**args.model_dump(exclude={"goal_id", "sort"}))
    result = await search(
        ctx.sessions, ctx.http, request, settings=ctx.settings, progress=market_frames(runtime)
    )
    products = sorted_products(result.products, args.sort)
    if any(report.status == "ok" for report in result.market_reports):
        # Charged only if some market answered, as a monitor check: failed work is not paid.
        ctx.services_used.append(ServiceUse("market_search", goal_id=args.goal_id))
    saved: dict[str, UUID] = {}
    if args.goal_id is not None:
        async with ctx.sessions.begin() as session:
            goal = await deals.owned_goal(session, ctx.user_id, args.goal_id)
            observed = await deals.record_offers(session, goal, result.offers)
            saved = {seen.deal.url: seen.deal.id for seen in observed}
            goal.last_checked_at = func.now()  # a check: the monitor's next is due from here
    return {
        "products": [product_view(p, saved.get(p.best.url)) for p in products],
        "markets": [
            {"market": r.market.value, "status": r.status, "detail": r.detail, "count": r.count}
            for r in result.market_reports
        ],
        "saved_as_deals": len(saved),
    }


@agent_tool(QueryDealsArgs)
async def query_deals(runtime: ToolRuntime[AgentContext], **fields: Any) -> dict[str, Any]:
    """Look through the deals already found for the user's goals (with price and status)."""
    args = QueryDealsArgs(**fields)
    ctx = runtime.context
    async with reading(ctx.sessions) as session:
        found = await deals.query_deals(
            session, ctx.user_id, deals.DealFilters(**args.model_dump())
        )
    ctx.services_used.append(ServiceUse("deal_query", goal_id=args.goal_id))
    return {"deals": [deal_view(d) for d in found]}


@agent_tool(TrackProductUrlArgs)
async def track_product_url(runtime: ToolRuntime[AgentContext], **fields: Any) -> dict[str, Any]:
    """Track any product page by its URL as a deal of one of the user's goals: its price
    is read now and kept in the deal's price history."""
    args = TrackProductUrlArgs(**fields)
    ctx = runtime.context
    goal_id = args.goal_id or ctx.goal_id or await only_live_goal(ctx)
    await within_goal_limit(ctx, goal_id, "url_tracking", "tracking this page")
    try:
        deal = await tracking.track_product_url(
            ctx.sessions,
            ctx.http,
            ctx.user_id,
            goal_id,
            args.url,
            allow_private=ctx.settings.track_private_hosts,
            timeout_s=ctx.settings.page_fetch_timeout_s,
        )
    except MarketError as error:
        raise deals.DealError(page_problem(error, ctx.settings.page_fetch_timeout_s)) from error
    ctx.services_used.append(ServiceUse("url_tracking", goal_id=goal_id))
    async with reading(ctx.sessions) as session:
        goal = await deals.owned_goal(session, ctx.user_id, goal_id)
        owner = {"id": str(goal.id), "title": goal.title, "status": goal.status.value}
        return {"deal": deal_view(deal), "goal": owner}


async def only_live_goal(ctx: AgentContext) -> UUID:
    """A deal belongs to a goal: with none named, the user's only active or paused goal."""
    async with reading(ctx.sessions) as session:
        live = [
            g
            for g in await goals.list_goals(session, ctx.user_id, None)
            if g.status in (GoalStatus.ACTIVE, GoalStatus.PAUSED)
        ]
    if len(live) == 1:
        return live[0].id
    if not live:
        raise deals.DealError(
            "A tracked page is kept under a goal, and you have none yet. Create one first "
            "(say what you want, e.g. “watch for a 4K monitor under $300”), then track the link."
        )
    titles = ", ".join(f"“{g.title}”" for g in live[:5])
    raise deals.DealError(f"Which goal should I track it under: {titles}? Name it by its title.")


# How a failed DNS lookup reads, wherever it surfaces (our check, or the fetch's own).
UNRESOLVED = re.compile(
    r"Name or service not known|nodename nor servname|Temporary failure in name resolution"
    r"|getaddrinfo failed|No address associated",
)


def page_problem(error: MarketError, timeout_s: float) -> str:
    """A page that could not be read, in plain words with what to do next."""
    text = str(error)
    if isinstance(error, PageTimeout):
        return f"That shop's page did not load within {timeout_s:g} s. Try again in a while."
    if isinstance(error, PageGone):
        return "That page no longer exists at the shop (it was removed). Check the link."
    if isinstance(error, NotAProductPage):
        return "That page doesn't show a product with a price I can read. Is it a product page?"
    if isinstance(error, ForbiddenAddress):
        return "I can only read public shop pages (http or https). Check the link."
    if text.startswith("cannot resolve") or UNRESOLVED.search(text):
        return "I couldn't reach that website: its address doesn't exist. Check the link."
    return "I couldn't read that page just now (the shop didn't answer properly). Try again later."
