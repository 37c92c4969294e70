"""What an observation of deals means for their goal: which deals meet the goal's rules,
the `deal` and `price_alert` notifications they earn (each once), a goal completed at
max_matches, and a balance that fell under the low-balance threshold. Everything runs in
the caller's transaction, so alerts commit with the observation that caused them."""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core import goals, notifications
from core.models import Deal, Goal
from core.models.enums import (
    DealStatus,
    GoalStatus,
    NotificationPriority,
    NotificationType,
)
from core.plain import amount_text, decimal_text
from core.reference_data import DEFAULT_MARKETS
from markets.text import words

MARKET_NAMES = {market: name for name, market, _, _ in DEFAULT_MARKETS}
HUNDRED = Decimal(100)
MATCH_NOTICES = 3  # new matches told one by one per observation; the rest in one summary
# A drop told for goals that set no notification_threshold of their own.
DEFAULT_DROP_PERCENT = Decimal(10)


@dataclass(frozen=True)
class Observed:
    """A deal as one observation left it, with the price it had before (None: new)."""

    deal: Deal
    previous_price: Decimal | None
    inserted: bool
    restocked: bool = False  # sold out at the observation before, available now


def condition_of(deal: Deal) -> str:
    """new, used or refurbished; listings that say nothing are new (shops sell new)."""
    said = str((deal.product_specs or {}).get("condition") or "").lower()
    if "refurb" in said:
        return "refurbished"
    return "used" if "used" in said or "pre-owned" in said else "new"


def meets_constraints(goal: Goal, deal: Deal) -> bool:
    rules = goal.constraints or {}
    text = set(words(f"{deal.title} {deal.description or ''}"))
    if any(not set(words(k)) <= text for k in rules.get("keywords") or []):
        return False
    brands = [b.lower() for b in rules.get("brands") or []]
    brand = str((deal.product_specs or {}).get("brand") or "").lower()
    if brands and not any(b == brand or set(words(b)) <= text for b in brands):
        return False
    wanted = rules.get("condition") or "any"
    return wanted == "any" or condition_of(deal) == wanted


def meets(goal: Goal, deal: Deal) -> bool:
    """The goal's rules: available, at most the target (when set) and the budget, at least
    the minimum discount, and its constraints (keywords, brands, condition)."""
    price = deal.current_price
    return (
        deal.status == DealStatus.ACTIVE
        and (goal.target_price is None or price <= goal.target_price)
        and (goal.max_budget is None or price <= goal.max_budget)
        and (
            goal.min_discount_percent is None
            or (deal.discount_percent or 0) >= goal.min_discount_percent
        )
        and meets_constraints(goal, deal)
    )


def drop_percent(before: Decimal, after: Decimal) -> Decimal:
    return ((before - after) / before * HUNDRED).quantize(Decimal("0.01"))


def price_drop_alerted(goal: Goal, seen: Observed) -> bool:
    """Fell by notification_threshold percent (DEFAULT_DROP_PERCENT when unset) since the
    last observation, or to/under the target; never for an unchanged price, nor above the
    budget."""
    before, deal = seen.previous_price, seen.deal
    if before is None or deal.current_price >= before or deal.status != DealStatus.ACTIVE:
        return False
    if goal.max_budget is not None and deal.current_price > goal.max_budget:
        return False
    threshold = goal.notification_threshold
    threshold = DEFAULT_DROP_PERCENT if threshold is None else threshold
    crossed = goal.target_price is not None and deal.current_price <= goal.target_price < before
    return crossed or (
        threshold is not None and drop_percent(before, deal.current_price) >= threshold
    )


def money(value: Decimal | None) -> str:
    return "?" if value is None else f"${value:,.2f}"


def describe(goal: Goal, seen: Observed, kind: NotificationType) -> tuple[str, str, dict[str, Any]]:
    """Title, message and meta_data of a deal or price_alert notification."""
    deal = seen.deal
    market = MARKET_NAMES.get(deal.meta_data.get("market"), deal.meta_data.get("market", "?"))
    name = deal.title if len(deal.title) <= 80 else deal.title[:79] + "…"
    meta: dict[str, Any] = {
        "market": deal.meta_data.get("market"),
        "new_price": decimal_text(deal.current_price),
        "goal_title": goal.title,
    }
    if kind == NotificationType.PRICE_ALERT and seen.previous_price is not None:
        percent = drop_percent(seen.previous_price, deal.current_price)
        meta |= {"old_price": decimal_text(seen.previous_price), "drop_percent": str(percent)}
        title = f"Price drop: {name}"
        message = (
            f"{deal.title} at {market} fell from {money(seen.previous_price)} to "
            f"{money(deal.current_price)} ({percent}% lower)"
        )
    elif seen.restocked:
        meta["event"] = "restocked"
        title = f"Back in stock: {name}"
        message = f"{deal.title} at {market} is back in stock for {money(deal.current_price)}"
    else:
        title = f"New match: {name}"
        message = f"{deal.title} at {market} for {money(deal.current_price)}"
        if deal.original_price and deal.discount_percent:
            message += f" (was {money(deal.original_price)}, {deal.discount_percent}% off)"
    if goal.target_price is not None and deal.current_price <= goal.target_price:
        message += f", at or under your target of {money(goal.target_price)}"
    message += f", for your goal “{goal.title}”. {deal.url}"
    threshold = goal.auto_buy_threshold
    if threshold is not None and (deal.discount_percent or 0) >= threshold:
        meta["auto_buy_candidate"] = True
        message += (
            f" Auto-buy candidate: {deal.discount_percent}% off meets your auto-buy threshold "
            f"of {threshold}%. dealagent makes no purchases; buying is up to you."
        )
    return title, message, meta


async def judge(session: AsyncSession, goal: Goal, observed: list[Observed]) -> None:
    """Notify what the observation earned, count new matches, complete the goal at
    max_matches.

    Every price drop and restock is told on its own; of the new matches the MATCH_NOTICES
    cheapest are, the rest in one summary (a first search can match twenty deals at once)."""
    channels = await notifications.channels_of(session, goal.user_id)  # once for them all
    drops: list[Observed] = []
    matches: list[Observed] = []
    restocks: list[Observed] = []
    new_matches = 0
    for seen in observed:
        deal = seen.deal
        newly_matched = "matched_at" not in deal.meta_data and meets(goal, deal)
        if newly_matched:
            new_matches += 1
            deal.meta_data = {**deal.meta_data, "matched_at": deal.last_checked_at.isoformat()}
        if price_drop_alerted(goal, seen):
            drops.append(seen)
        elif newly_matched:
            matches.append(seen)
        elif seen.restocked and meets(goal, deal):  # a match sold out, then back
            restocks.append(seen)
    matches.sort(key=lambda seen: seen.deal.current_price)
    told = [(seen, NotificationType.PRICE_ALERT) for seen in drops]
    told += [(seen, NotificationType.DEAL) for seen in restocks + matches[:MATCH_NOTICES]]
    for seen, kind in told:
        await deal_notice(session, goal, seen, kind, channels)
    if rest := matches[MATCH_NOTICES:]:
        await more_matches(session, goal, rest, channels)
    if new_matches:
        await count_matches(session, goal, new_matches, channels)


async def deal_notice(
    session: AsyncSession,
    goal: Goal,
    seen: Observed,
    kind: NotificationType,
    channels: list[str],
) -> None:
    title, message, meta = describe(goal, seen, kind)
    await notifications.create(
        session,
        goal.user_id,
        type=kind,
        title=title,
        message=message,
        priority=NotificationPriority.HIGH,
        goal_id=goal.id,
        deal_id=seen.deal.id,
        action_url=seen.deal.url,
        channels=channels,
        meta=meta,
    )


async def more_matches(
    session: AsyncSession, goal: Goal, rest: list[Observed], channels: list[str]
) -> None:
    """One `deal` notification for the new matches not told one by one, cheapest first."""
    first, last = rest[0].deal, rest[-1].deal
    await notifications.create(
        session,
        goal.user_id,
        type=NotificationType.DEAL,
        title=f"{len(rest)} more matches: {goal.title}"[:255],
        message=(
            f"{len(rest)} more deals meet your goal “{goal.title}”, from "
            f"{money(first.current_price)} ({first.title}) to {money(last.current_price)}. "
            "Ask me to show your deals to see them all."
        ),
        priority=NotificationPriority.MEDIUM,
        goal_id=goal.id,
        deal_id=first.id,
        action_url=first.url,
        channels=channels,
        meta={"event": "more_matches", "deal_ids": [str(seen.deal.id) for seen in rest]},
    )


async def count_matches(
    session: AsyncSession, goal: Goal, new_matches: int, channels: list[str]
) -> None:
    total = await session.scalar(
        update(Goal)
        .where(Goal.id == goal.id)
        .values(total_matches_found=Goal.total_matches_found + new_matches)
        .returning(Goal.total_matches_found)
    )
    goal.total_matches_found = total
    if goal.max_matches is None or total < goal.max_matches or goal.status != GoalStatus.ACTIVE:
        return
    await goals.set_status(
        session, goal, GoalStatus.COMPLETED, {"event": "completed", "matches": total}
    )
    await goal_notice(
        session,
        goal,
        "completed",
        f"Goal completed: {goal.title}",
        f"Your goal “{goal.title}” found the {total} matches it asked for "
        "and is no longer watched.",
        channels,
    )


def over_limit_text(goal: Goal, spent: Decimal, limit: Decimal, cost: Decimal, what: str) -> str:
    return (
        f"Your goal “{goal.title}” has spent {amount_text(spent)} of its {amount_text(limit)} "
        f"tokens; {what} costs {amount_text(cost)}. It is paused: raise its token limit or "
        "resume it to go on."
    )


def short_balance_text(goal: Goal, balance: Decimal, cost: Decimal) -> str:
    return (
        f"Your balance ({amount_text(balance)} tokens) does not cover a check of "
        f"“{goal.title}” ({amount_text(cost)} tokens). It is paused: top up and resume it."
    )


def expired_text(goal: Goal) -> str:
    return f"Your goal “{goal.title}” reached its end date and is no longer watched."


STOP_TITLES = {"expired": "Goal expired", "error": "Goal stopped"}  # else "Goal paused"


async def stop_goal(
    session: AsyncSession, goal: Goal, status: GoalStatus, event: str, message: str
) -> None:
    """Pause, expire or error a goal (locked by the caller) and tell its owner why."""
    await goals.set_status(session, goal, status, {"event": event, "detail": message})
    title = f"{STOP_TITLES.get(event, 'Goal paused')}: {goal.title}"
    await goal_notice(session, goal, event, title, message)


async def goal_notice(
    session: AsyncSession,
    goal: Goal,
    event: str,
    title: str,
    message: str,
    channels: list[str] | None = None,
    **meta: Any,
) -> None:
    """A `goal` notification: completed, expired, paused (budget, balance) or error."""
    await notifications.create(
        session,
        goal.user_id,
        type=NotificationType.GOAL,
        title=title[:255],
        message=message,
        priority=NotificationPriority.HIGH if event == "error" else NotificationPriority.MEDIUM,
        goal_id=goal.id,
        channels=channels,
        meta={"event": event, **meta},
    )


async def balance_crossed(
    session: AsyncSession, user_id: uuid.UUID, before: Decimal, after: Decimal, threshold: Decimal
) -> None:
    """A `token` notification when a debit took the balance from at or over the low-balance
    threshold to under it: once per crossing, however many debits follow."""
    if not after < threshold <= before:
        return
    await notifications.create(
        session,
        user_id,
        type=NotificationType.TOKEN,
        title="Your token balance is low",
        message=(
            f"Your balance is down to {amount_text(after)} tokens, under "
            f"{amount_text(threshold)}. Goal checks and chat turns stop when it runs out."
        ),
        priority=NotificationPriority.HIGH,
        meta={"event": "low_balance", "balance": decimal_text(after)},
    )
