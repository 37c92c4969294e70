"""One check of one goal: search the markets for it and read its tracked product pages
again, then store what was seen in one transaction (deals, price history, alerts, the
charge, the goal's bookkeeping).

A check belongs to a slot: the goal's last_checked_at when it was queued. The transaction
stores only if the goal is still active and still at that slot, so two workers running
the same slot, or a check racing a cancel, store once or not at all. The search and the
page fetches run before the transaction: no connection is held while the markets answer.
"""

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import case, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import alerts, goals, ledger, notifications
from core.config import Settings
from core.db import reading
from core.deals import record_offers, trusted_origins
from core.mailer import Mailer
from core.models import Deal, Goal, Market, Notification, User
from core.models.enums import (
    DealStatus,
    GoalStatus,
    MarketCategory,
    MarketStatus,
    NotificationPriority,
    NotificationType,
)
from markets.search import SearchRequest, SearchResult, search
from monitor.tracked import PageRead, read_pages, store_pages, tracked_pages

log = logging.getLogger(__name__)

MARKET_SEARCH = "market_search"
CHECK_LIMIT = 20  # offers stored per check
MAX_FAILURES = 5  # consecutive failed checks put a goal in status error
MISSES_TO_VANISH = 3  # checks of a deal's market without it before it counts as gone


@dataclass(frozen=True)
class MonitorDeps:
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    settings: Settings
    mailer: Mailer


class StopCheck(Exception):
    """The goal cannot be charged for this check; the message says why, for the user."""

    def __init__(self, event: str, message: str) -> None:
        super().__init__(message)
        self.event = event


def search_request(goal: Goal) -> SearchRequest:
    return SearchRequest(
        query=goal.title,
        category=None if goal.category == MarketCategory.OTHER else goal.category,
        max_price=goal.max_budget,
        min_discount=goal.min_discount_percent,
        limit=CHECK_LIMIT,
    )


async def check_goal(deps: MonitorDeps, goal_id: uuid.UUID, slot: datetime | None) -> str:
    """Run the goal's check for `slot`; what happened, in a few words (for the log)."""
    async with reading(deps.sessions) as session:
        goal = await session.get(Goal, goal_id)
        if goal is None or goal.status != GoalStatus.ACTIVE:
            return "not active"
        if goal.last_checked_at != slot:
            return "slot already checked"
        price = await ledger.current_price(session, MARKET_SEARCH)
        balance = await session.scalar(select(User.token_balance).where(User.id == goal.user_id))
        pages = await tracked_pages(session, goal.id)
        trusted = await trusted_origins(session) if pages else frozenset[str]()
    now = datetime.now(UTC)
    if goal.end_date is not None and goal.end_date <= now:
        return await end_goal(
            deps, goal, slot, GoalStatus.EXPIRED, "expired", alerts.expired_text(goal)
        )
    cost = ledger.cost(price)
    try:
        affordable(goal, balance, cost)
    except StopCheck as stop:
        return await end_goal(deps, goal, slot, GoalStatus.PAUSED, stop.event, str(stop))
    result, reads = await asyncio.gather(
        market_search(deps, goal, tracked=bool(pages)),
        read_pages(deps.http, deps.settings, pages, trusted),
    )
    try:
        async with deps.sessions() as session, session.begin():
            return await store(session, deps.settings, goal, slot, result, reads, cost)
    except (ledger.InsufficientBalance, ledger.GoalTokenLimitExceeded) as refused:
        stop = refusal_reason(goal, refused, cost)
        return await end_goal(deps, goal, slot, GoalStatus.PAUSED, stop.event, str(stop))


async def market_search(deps: MonitorDeps, goal: Goal, *, tracked: bool) -> SearchResult:
    """The markets' offers for the goal; none asked when it has nothing to search for but
    tracked pages (with neither, the search refuses the empty query)."""
    if tracked and not goal.title.strip():
        return SearchResult()
    return await search(deps.sessions, deps.http, search_request(goal), settings=deps.settings)


def affordable(goal: Goal, balance: Decimal, cost: Decimal) -> None:
    spent, limit = goal.total_tokens_spent, goal.max_tokens
    if limit is not None and spent + cost > limit:
        raise over_limit(goal, spent, limit, cost)
    if balance < cost:
        raise short_balance(goal, balance, cost)


def over_limit(goal: Goal, spent: Decimal, limit: Decimal, cost: Decimal) -> StopCheck:
    message = alerts.over_limit_text(goal, spent, limit, cost, "another check")
    return StopCheck("paused_token_limit", message)


def short_balance(goal: Goal, balance: Decimal, cost: Decimal) -> StopCheck:
    return StopCheck("paused_balance", alerts.short_balance_text(goal, balance, cost))


def refusal_reason(goal: Goal, refused: Exception, cost: Decimal) -> StopCheck:
    """The ledger refused at settlement (spent meanwhile): the same words as the pre-check."""
    if isinstance(refused, ledger.GoalTokenLimitExceeded):
        return over_limit(goal, refused.spent, refused.max_tokens, cost)
    assert isinstance(refused, ledger.InsufficientBalance)
    return short_balance(goal, refused.balance, cost)


async def locked_goal(session: AsyncSession, seen: Goal, slot: datetime | None) -> Goal | None:
    """The goal, row-locked (its owner's row first, as the ledger locks them), if it is still
    active and still at `slot`."""
    await goals.lock_user(session, seen.user_id)
    goal = await session.scalar(select(Goal).where(Goal.id == seen.id).with_for_update())
    if goal is None or goal.status != GoalStatus.ACTIVE or goal.last_checked_at != slot:
        return None
    return goal


async def end_goal(
    deps: MonitorDeps,
    seen: Goal,
    slot: datetime | None,
    status: GoalStatus,
    event: str,
    message: str,
) -> str:
    """Pause, expire or error the goal, and tell its owner why."""
    async with deps.sessions() as session, session.begin():
        goal = await locked_goal(session, seen, slot)
        if goal is None:
            return "changed meanwhile"
        await alerts.stop_goal(session, goal, status, event, message)
    return event


async def store(
    session: AsyncSession,
    settings: Settings,
    seen: Goal,
    slot: datetime | None,
    result: SearchResult,
    reads: list[PageRead],
    cost: Decimal,
) -> str:
    goal = await locked_goal(session, seen, slot)
    if goal is None:
        return "changed meanwhile"  # cancelled, paused or checked by another worker
    reports = result.market_reports
    answered = {r.market for r in reports if r.status == "ok"}
    await market_notices(session, goal, result)
    if not answered and not reads:
        why = "; ".join(f"{r.market.value}: {r.status} {r.detail}".strip() for r in reports)
        return await failed(session, goal, why or "no market to ask and no page read")
    page_offers = await store_pages(session, goal, reads)
    observed = await record_offers(session, goal, result.offers + page_offers)
    await mark_missing(session, goal, answered, {seen.deal.id for seen in observed})
    entry = await ledger.deduct(
        session,
        goal.user_id,
        cost,
        description=f"goal check: {goal.title}"[:255],
        goal_id=goal.id,
        meta={
            "service_type": MARKET_SEARCH,
            "goal_check": True,
            "offers": len(observed),
            "pages": len(reads),
        },
    )
    await alerts.balance_crossed(
        session, goal.user_id, entry.balance + cost, entry.balance, settings.low_balance_threshold
    )
    state = dict(goal.meta_data.get("monitor") or {})
    state.update(failures=0, last_error=None, checks=int(state.get("checks", 0)) + 1)
    await finish(session, goal, state, datetime.now(UTC))
    return f"stored {len(observed)} offers, {len(reads)} tracked pages read"


async def failed(session: AsyncSession, goal: Goal, error: str) -> str:
    """A check that found nothing out: nothing charged, the slot is spent (no retry storm),
    and MAX_FAILURES in a row stop the goal."""
    state = dict(goal.meta_data.get("monitor") or {})
    state.update(failures=int(state.get("failures", 0)) + 1, last_error=error[:500])
    await finish(session, goal, state, datetime.now(UTC))
    if state["failures"] < MAX_FAILURES:
        return f"failed ({state['failures']})"
    message = (
        f"Your goal “{goal.title}” could not be checked {MAX_FAILURES} times in a row and "
        f"is stopped. Last error: {state['last_error']}"
    )
    await alerts.stop_goal(session, goal, GoalStatus.ERROR, "error", message)
    return "error"


async def check_failed(
    deps: MonitorDeps, goal_id: uuid.UUID, slot: datetime | None, error: str
) -> str:
    """Count a check that broke (an error of ours or the database's) against its goal."""
    async with reading(deps.sessions) as session:
        seen = await session.get(Goal, goal_id)
    if seen is None:
        return "gone"
    async with deps.sessions() as session, session.begin():
        goal = await locked_goal(session, seen, slot)
        return "changed meanwhile" if goal is None else await failed(session, goal, error)


async def finish(session: AsyncSession, goal: Goal, state: dict[str, Any], now: datetime) -> None:
    goal.last_checked_at = now
    goal.meta_data = {**goal.meta_data, "monitor": state}
    await session.flush()


async def mark_missing(
    session: AsyncSession, goal: Goal, answered: set[Any], seen: set[uuid.UUID]
) -> None:
    """Deals whose market answered without them count a miss (record_offers resets it);
    after MISSES_TO_VANISH in a row they are expired: the listing is gone or out of reach.
    Tracked pages are not listings a search must find: their own page says (store_pages)."""
    misses = func.coalesce(Deal.meta_data["misses"].as_integer(), 0) + 1
    await session.execute(
        update(Deal)
        .where(
            Deal.goal_id == goal.id,
            Deal.status.in_((DealStatus.ACTIVE, DealStatus.SOLD_OUT)),
            Deal.id.not_in(seen),
            Deal.meta_data["tracked"].as_boolean().is_not(True),
            Deal.meta_data["market"].as_string().in_([m.value for m in answered]),
        )
        .values(
            meta_data=Deal.meta_data.op("||")(func.jsonb_build_object("misses", misses)),
            status=case((misses >= MISSES_TO_VANISH, DealStatus.EXPIRED), else_=Deal.status),
        )
        .execution_options(synchronize_session=False)
    )


async def market_notices(session: AsyncSession, goal: Goal, result: SearchResult) -> None:
    """A market the check had to skip (error backoff or rate limit): told once a day."""
    down = [r for r in result.market_reports if r.status in ("error", "rate_limited")]
    if not down:
        return
    statuses = dict(
        (
            await session.execute(
                select(Market.type, Market.status).where(Market.type.in_([r.market for r in down]))
            )
        ).all()
    )
    for report in down:
        if statuses.get(report.market) not in (MarketStatus.ERROR, MarketStatus.RATE_LIMITED):
            continue
        told = await session.scalar(
            select(
                exists().where(
                    Notification.user_id == goal.user_id,
                    Notification.type == NotificationType.MARKET,
                    Notification.meta_data["market"].as_string() == report.market.value,
                    Notification.created_at > func.now() - text("interval '1 day'"),
                )
            )
        )
        if told:
            continue
        name = alerts.MARKET_NAMES[report.market]
        await notifications.create(
            session,
            goal.user_id,
            type=NotificationType.MARKET,
            title=f"{name} is unavailable",
            message=(
                f"{name} is {statuses[report.market].value.replace('_', ' ')} and is skipped "
                f"by your goal checks until it recovers ({report.detail})."
            ),
            priority=NotificationPriority.LOW,
            goal_id=goal.id,
            meta={"market": report.market.value, "status": statuses[report.market].value},
        )
