"""One goal check (monitor.check.check_goal) against the sandbox marketplace and a real
database: what it stores, what it charges, the alerts it raises, and the goal's life."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from procrastinate import JobContext
from sqlalchemy import func, select, update

from core.alerts import MATCH_NOTICES
from core.mailer import LogMailer
from core.models import Deal, Goal, Market, Notification, PriceTracking, TokenTransaction, User
from core.models.enums import (
    GoalPriority,
    GoalStatus,
    MarketType,
    NotificationType,
)
from markets.tracking import track_product_url
from monitor.check import MISSES_TO_VANISH, MonitorDeps, check_goal
from monitor.queue import run_check
from tests.markets_support import admin, market_settings, reset_markets, running_sandbox, set_fault
from tests.monitor_support import eventually


@pytest.fixture(scope="module")
def sessions(module_db):
    return module_db.sessions


@pytest.fixture(scope="module")
async def sandbox(settings, sessions):
    with running_sandbox(settings) as url:
        await reset_markets(sessions, url)
        yield url


@pytest.fixture
async def deps(sessions, settings, sandbox):
    await reset_markets(sessions, sandbox)
    await admin(sandbox, "DELETE", "prices")
    async with httpx.AsyncClient() as http:
        yield MonitorDeps(sessions, http, market_settings(settings), LogMailer())


async def new_goal(sessions, balance: str = "50", **fields: object) -> Goal:
    async with sessions() as session, session.begin():
        user = User(
            email=f"{uuid.uuid4().hex[:10]}@example.com",
            password="x",
            token_balance=Decimal(balance),
        )
        session.add(user)
        await session.flush()
        fields.setdefault("title", "4k monitor")
        goal = Goal(user_id=user.id, category="electronics", **fields)
        session.add(goal)
        await session.flush()
        user.active_goals_count = 1
    return goal


async def reload(sessions, goal: Goal) -> Goal:
    async with sessions() as session:
        return await session.get(Goal, goal.id)


async def notices(sessions, goal: Goal, kind: NotificationType | None = None) -> list:
    async with sessions() as session:
        query = select(Notification).where(Notification.user_id == goal.user_id)
        if kind is not None:
            query = query.where(Notification.type == kind)
        return list(await session.scalars(query.order_by(Notification.created_at)))


async def charges(sessions, goal: Goal) -> list[TokenTransaction]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(TokenTransaction).where(TokenTransaction.user_id == goal.user_id)
            )
        )


async def deals_of(sessions, goal: Goal) -> list[Deal]:
    async with sessions() as session:
        return list(await session.scalars(select(Deal).where(Deal.goal_id == goal.id)))


async def test_a_first_check_stores_charges_and_notifies_matches(deps, sessions):
    goal = await new_goal(sessions, max_budget=Decimal("400"))
    outcome = await check_goal(deps, goal.id, None)
    assert outcome.startswith("stored"), outcome
    found = await deals_of(sessions, goal)
    assert found and all(d.current_price <= 400 for d in found)
    after = await reload(sessions, goal)
    assert after.last_checked_at is not None
    assert after.meta_data["monitor"]["failures"] == 0
    (charge,) = await charges(sessions, goal)
    assert charge.goal_id == goal.id and charge.amount == Decimal("0.5")
    assert after.total_tokens_spent == Decimal("0.5")
    matches = [d for d in found if "matched_at" in d.meta_data]
    assert after.total_matches_found == len(matches) > 0
    deal_notes = await notices(sessions, goal, NotificationType.DEAL)
    one_by_one = [n for n in deal_notes if n.title.startswith("New match")]
    (summary,) = [n for n in deal_notes if n not in one_by_one]  # twenty matches: no flood
    assert len(one_by_one) == MATCH_NOTICES
    told = {n.deal_id for n in one_by_one} | {uuid.UUID(i) for i in summary.meta_data["deal_ids"]}
    assert told == {d.id for d in matches}
    cheapest = sorted(matches, key=lambda d: d.current_price)
    assert [n.deal_id for n in one_by_one] == [d.id for d in cheapest[:MATCH_NOTICES]]
    note = one_by_one[0]
    assert note.goal_id == goal.id and note.action_url == cheapest[0].url
    assert f"${cheapest[0].current_price:,.2f}" in note.message
    assert summary.title.startswith(f"{len(matches) - MATCH_NOTICES} more matches")

    # The same slot again (a second worker, a retried job): nothing more is stored.
    assert await check_goal(deps, goal.id, None) == "slot already checked"
    assert len(await charges(sessions, goal)) == 1
    # The next slot: every price observed again, no deal notified twice.
    await check_goal(deps, goal.id, after.last_checked_at)
    async with sessions() as session:
        tracked = await session.scalar(
            select(func.count())
            .select_from(PriceTracking)
            .join(Deal)
            .where(Deal.goal_id == goal.id)
        )
    assert tracked >= 2 * len(found)
    assert len(await notices(sessions, goal, NotificationType.DEAL)) == len(deal_notes)
    assert len(await charges(sessions, goal)) == 2


async def test_two_checks_of_one_slot_at_once_store_once(deps, sessions, sandbox):
    goal = await new_goal(sessions, max_budget=Decimal("400"))
    await set_fault(sandbox, "amazon", "slow", 0.3)  # both searches overlap
    outcomes = await asyncio.gather(*(check_goal(deps, goal.id, None) for _ in range(3)))
    assert sum(o.startswith("stored") for o in outcomes) == 1, outcomes
    assert len(await charges(sessions, goal)) == 1


async def test_a_price_pinned_under_the_target_is_alerted_once(deps, sessions, sandbox):
    goal = await new_goal(sessions, max_budget=Decimal("400"), target_price=Decimal("120"))
    await check_goal(deps, goal.id, None)
    deal = min(
        (d for d in await deals_of(sessions, goal) if d.current_price > 120),
        key=lambda d: d.current_price,
    )
    market, item = deal.meta_data["market"], deal.meta_data["item_id"]
    await admin(sandbox, "POST", "prices", {"market": market, "item_id": item, "price": "99.00"})
    slot = (await reload(sessions, goal)).last_checked_at
    await check_goal(deps, goal.id, slot)
    alerts = await notices(sessions, goal, NotificationType.PRICE_ALERT)
    assert [a.deal_id for a in alerts] == [deal.id]
    alert = alerts[0]
    assert "$99.00" in alert.message and f"${deal.current_price:,.2f}" in alert.message
    assert alert.meta_data["old_price"] == str(deal.current_price)
    assert alert.action_url == deal.url
    # Checked again at the same price: no second alert.
    await check_goal(deps, goal.id, (await reload(sessions, goal)).last_checked_at)
    assert len(await notices(sessions, goal, NotificationType.PRICE_ALERT)) == 1


async def test_max_matches_completes_the_goal(deps, sessions):
    goal = await new_goal(sessions, max_budget=Decimal("400"), max_matches=2)
    await check_goal(deps, goal.id, None)
    after = await reload(sessions, goal)
    assert after.status == GoalStatus.COMPLETED
    assert after.total_matches_found >= 2
    (done,) = await notices(sessions, goal, NotificationType.GOAL)
    assert done.meta_data["event"] == "completed"
    async with sessions() as session:
        user = await session.get(User, goal.user_id)
    assert (user.active_goals_count, user.success_rate) == (0, Decimal("1.0000"))
    # An ended goal is never checked again.
    assert await check_goal(deps, goal.id, after.last_checked_at) == "not active"


async def test_a_goal_out_of_tokens_is_paused_uncharged(deps, sessions, sandbox):
    goal = await new_goal(sessions, max_tokens=Decimal("1"), total_tokens_spent=Decimal("0.75"))
    before = (await admin(sandbox, "GET", "state"))["requests"]
    assert await check_goal(deps, goal.id, None) == "paused_token_limit"
    assert (await admin(sandbox, "GET", "state"))["requests"] == before  # nothing searched
    after = await reload(sessions, goal)
    assert after.status == GoalStatus.PAUSED
    assert after.meta_data["status_reason"]["event"] == "paused_token_limit"
    assert await charges(sessions, goal) == []
    assert await deals_of(sessions, goal) == []
    (paused,) = await notices(sessions, goal, NotificationType.GOAL)
    assert "0.75 of its 1 tokens" in paused.message


async def test_a_balance_too_small_pauses_the_goal(deps, sessions):
    goal = await new_goal(sessions, balance="0.2")
    assert await check_goal(deps, goal.id, None) == "paused_balance"
    assert (await reload(sessions, goal)).status == GoalStatus.PAUSED
    assert await charges(sessions, goal) == []


async def test_the_low_balance_crossing_is_told_once(deps, sessions):
    goal = await new_goal(sessions, balance="5.4", max_budget=Decimal("400"))
    await check_goal(deps, goal.id, None)  # 5.4 -> 4.9: crosses 5
    await check_goal(deps, goal.id, (await reload(sessions, goal)).last_checked_at)
    (low,) = await notices(sessions, goal, NotificationType.TOKEN)
    assert "4.9" in low.message


async def test_a_goal_past_its_end_date_expires_unsearched(deps, sessions):
    goal = await new_goal(sessions, end_date=datetime.now(UTC) - timedelta(minutes=1))
    assert await check_goal(deps, goal.id, None) == "expired"
    assert (await reload(sessions, goal)).status == GoalStatus.EXPIRED
    assert await charges(sessions, goal) == []
    (expired,) = await notices(sessions, goal, NotificationType.GOAL)
    assert expired.meta_data["event"] == "expired"


async def test_a_goal_cancelled_during_its_search_stores_nothing(deps, sessions, sandbox):
    goal = await new_goal(sessions)
    await set_fault(sandbox, "walmart", "slow", 1.0)
    asked = (await admin(sandbox, "GET", "state"))["requests"].get("walmart", 0)
    check = asyncio.create_task(check_goal(deps, goal.id, None))

    async def searching() -> bool:  # walmart asked, and its answer a second away
        return (await admin(sandbox, "GET", "state"))["requests"].get("walmart", 0) > asked

    await eventually(searching, wait_s=5)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Goal).where(Goal.id == goal.id).values(status=GoalStatus.CANCELLED)
        )
    assert await check == "changed meanwhile"
    assert await deals_of(sessions, goal) == []
    assert await charges(sessions, goal) == []


async def test_one_market_answering_garbage_fails_only_its_part(deps, sessions, sandbox):
    goal = await new_goal(sessions, max_budget=Decimal("400"))
    await set_fault(sandbox, "ebay", "malformed")
    assert (await check_goal(deps, goal.id, None)).startswith("stored")
    markets = {d.meta_data["market"] for d in await deals_of(sessions, goal)}
    assert "ebay" not in markets and len(markets) >= 2


async def test_five_failed_checks_stop_the_goal(deps, sessions, sandbox):
    goal = await new_goal(sessions, priority=GoalPriority.HIGH)
    for market in ("amazon", "walmart", "ebay", "target", "bestbuy"):
        await set_fault(sandbox, market, "error")
    slot = None
    for attempt in range(1, 6):
        outcome = await check_goal(deps, goal.id, slot)
        assert outcome == ("error" if attempt == 5 else f"failed ({attempt})")
        after = await reload(sessions, goal)
        slot = after.last_checked_at
        await reset_markets(sessions, sandbox)  # keep markets admitting; faults stay
        for market in ("amazon", "walmart", "ebay", "target", "bestbuy"):
            await set_fault(sandbox, market, "error")
    assert after.status == GoalStatus.ERROR
    assert "500" in after.meta_data["monitor"]["last_error"]
    assert await charges(sessions, goal) == []
    (stopped,) = await notices(sessions, goal, NotificationType.GOAL)
    assert stopped.meta_data["event"] == "error"


async def pin_first(sandbox, sessions, goal, above: Decimal, price: str) -> Deal:
    deal = min(
        (d for d in await deals_of(sessions, goal) if d.current_price > above),
        key=lambda d: d.current_price,
    )
    body = {"market": deal.meta_data["market"], "item_id": deal.meta_data["item_id"]}
    await admin(sandbox, "POST", "prices", {**body, "price": price})
    return deal


async def test_a_drop_by_the_default_threshold_is_alerted_a_small_one_not(deps, sessions, sandbox):
    goal = await new_goal(sessions, max_budget=Decimal("400"))
    await check_goal(deps, goal.id, None)
    big = await pin_first(sandbox, sessions, goal, Decimal("150"), "100.00")
    small = min(
        (d for d in await deals_of(sessions, goal) if d.id != big.id and d.status == "active"),
        key=lambda d: d.current_price,
    )
    nudge = (small.current_price * Decimal("0.95")).quantize(Decimal("0.01"))  # 5% lower
    body = {"market": small.meta_data["market"], "item_id": small.meta_data["item_id"]}
    await admin(sandbox, "POST", "prices", {**body, "price": str(nudge)})
    await check_goal(deps, goal.id, (await reload(sessions, goal)).last_checked_at)
    alerts = await notices(sessions, goal, NotificationType.PRICE_ALERT)
    assert [a.deal_id for a in alerts] == [big.id]
    assert alerts[0].meta_data["drop_percent"] == str(
        ((big.current_price - 100) / big.current_price * 100).quantize(Decimal("0.01"))
    )


async def test_an_auto_buy_candidate_is_marked_and_nothing_is_bought(deps, sessions):
    goal = await new_goal(sessions, max_budget=Decimal("400"), auto_buy_threshold=Decimal(20))
    await check_goal(deps, goal.id, None)
    found = {d.id: d for d in await deals_of(sessions, goal)}
    one_by_one = [
        n
        for n in await notices(sessions, goal, NotificationType.DEAL)
        if n.title.startswith("New match")
    ]
    for note in one_by_one:
        discount = found[note.deal_id].discount_percent or 0
        candidate = discount >= 20
        assert note.meta_data.get("auto_buy_candidate", False) is candidate
        assert ("no purchases" in note.message) is candidate
    async with sessions() as session:
        balance = await session.scalar(select(User.token_balance).where(User.id == goal.user_id))
    assert balance == Decimal("49.5")  # one check, nothing else spent


async def test_a_market_in_backoff_is_told_once(deps, sessions):
    goal = await new_goal(sessions)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Market)
            .where(Market.type == MarketType.WALMART)
            .values(status="error", error_count=5, last_error_at=func.now(), last_error="500")
        )
    await check_goal(deps, goal.id, None)
    await check_goal(deps, goal.id, (await reload(sessions, goal)).last_checked_at)
    (down,) = await notices(sessions, goal, NotificationType.MARKET)
    assert down.title == "Walmart is unavailable" and down.meta_data["market"] == "walmart"
    assert len(await charges(sessions, goal)) == 2  # the other markets answered


async def test_a_check_that_breaks_counts_as_a_failure_not_a_retry_storm(deps, sessions):
    goal = await new_goal(sessions, title="   ")  # nothing to search for: the search raises
    context = JobContext(
        app=None, job=None, start_timestamp=0, abort_reason=lambda: None,
        additional_context={"deps": deps, "monitor": None},
    )  # fmt: skip
    await run_check(context, goal_id=str(goal.id), slot=None)
    after = await reload(sessions, goal)
    assert after.last_checked_at is not None  # the slot is spent: not queued again at once
    assert after.meta_data["monitor"] == {"failures": 1, "last_error": "internal error: ValueError"}
    assert await charges(sessions, goal) == []


async def test_a_tracked_page_is_read_at_every_check_and_never_counted_missing(deps, sessions):
    """A page tracked for a monitor goal is not a listing the goal's search finds: its market
    answering without it three times does not expire it; its own page is read each check."""
    other = await new_goal(sessions, title="wireless headphones")
    await check_goal(deps, other.id, None)
    # A sandbox product page, of an offer in stock (the sandbox sells some out)
    page_url = next(d.url for d in await deals_of(sessions, other) if d.status == "active")
    goal = await new_goal(sessions, max_budget=Decimal("400"))
    tracked = await track_product_url(
        sessions, deps.http, goal.user_id, goal.id, page_url, allow_private=False, timeout_s=10
    )
    for _ in range(MISSES_TO_VANISH + 1):
        outcome = await check_goal(deps, goal.id, (await reload(sessions, goal)).last_checked_at)
        assert outcome.endswith("1 tracked pages read"), outcome
    async with sessions() as session:
        after = await session.get(Deal, tracked.id)
        seen = await session.scalar(select(func.count()).where(PriceTracking.deal_id == tracked.id))
    assert after.status == "active" and seen == MISSES_TO_VANISH + 2  # tracked, then each check
