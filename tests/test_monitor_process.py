"""The monitor as it runs for real: a `dealagent worker` process checks goals that a
`dealagent serve` process took over a WebSocket, on one database, against the sandbox."""

import os
import signal
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import notifications
from core.models import Deal, Goal, Notification, PriceTracking, TokenTransaction
from core.models.enums import GoalStatus, NotificationType, TransactionType
from monitor.queue import CHECK_TASK, QUEUE, Monitor
from tests.chat_accounts import registered_user
from tests.chat_client import chat, frames_before, ready_chat, recv_until, send
from tests.factories import make_goal, make_user
from tests.markets_support import admin, running_sandbox, set_fault
from tests.monitor_support import (
    eventually,
    jobs_settled,
    pin_price,
    server_process,
    worker_process,
)

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def db(module_db):
    return module_db


@pytest.fixture(scope="module")
def sandbox(settings):
    with running_sandbox(settings) as url:
        yield url


async def goal_of(sessions, user_id: uuid.UUID) -> Goal | None:
    async with sessions() as session:
        return await session.scalar(select(Goal).where(Goal.user_id == user_id))


async def deals_of(sessions, goal_id: uuid.UUID) -> list[Deal]:
    async with sessions() as session:
        return list(await session.scalars(select(Deal).where(Deal.goal_id == goal_id)))


async def alerts_for(sessions, deal_id: uuid.UUID) -> list[Notification]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Notification).where(
                    Notification.deal_id == deal_id,
                    Notification.type == NotificationType.PRICE_ALERT,
                )
            )
        )


async def next_notification(ws, kind: str, wait_s: float = 30) -> dict:
    frames = await recv_until(ws, "notification", wait_s=wait_s, notification_type=kind)
    return frames[-1]


async def test_a_watched_goal_alerts_live_and_on_reconnect(db, sandbox, tmp_path):
    with (
        server_process(db.url, sandbox, str(tmp_path / "serve.log")) as base,
        worker_process(db.url, sandbox, str(tmp_path / "worker.log")),
    ):
        user = await registered_user(base)
        ws, _ = await ready_chat(base, user.token)
        frames = await chat(
            ws, "1", "find me a 4K monitor under $400, tell me if one drops below $150"
        )
        reply = frames[-1]
        assert reply["type"] == "assistant_message", reply
        assert "watch" in reply["content"].lower()
        goal = await goal_of(db.sessions, user.id)
        assert (goal.max_budget, goal.target_price) == (Decimal("400"), Decimal("150"))

        # The worker re-checks it (every 2 s here): deals, their price history, the charges.
        pricey = await eventually(lambda: _above(db.sessions, goal.id, Decimal("150")), wait_s=30)
        market, item = pricey.meta_data["market"], pricey.meta_data["item_id"]

        # Live: the sandbox price falls under the target while the chat is open.
        await pin_price(sandbox, market, item, "129.00")
        alert = await next_notification(ws, "price_alert")
        assert alert["deal_id"] == str(pricey.id) and alert["goal_id"] == str(goal.id)
        assert "$129.00" in alert["message"] and alert["action_url"] == pricey.url
        await send(ws, {"type": "ack", "notification_id": alert["id"]})
        await ws.close()

        # Closed: another deal drops; the alert waits for the next connection.
        other = await eventually(
            lambda: _above(db.sessions, goal.id, Decimal("150"), not_id=pricey.id)
        )
        market, item = other.meta_data["market"], other.meta_data["item_id"]
        await pin_price(sandbox, market, item, "111.00")
        stored = await eventually(lambda: alerts_for(db.sessions, other.id))
        # Two more checks at the same price: still one alert.
        checked = await check_charges(db.sessions, goal.id)
        await eventually(lambda: check_charges(db.sessions, goal.id, at_least=checked + 2))
        assert len(await alerts_for(db.sessions, other.id)) == 1
        assert len(await alerts_for(db.sessions, pricey.id)) == 1

        ws, _ = await ready_chat(base, user.token)
        missed = await next_notification(ws, "price_alert")
        assert missed["id"] == str(stored[0].id) and "$111.00" in missed["message"]
        await send(ws, {"type": "ack", "notification_id": missed["id"]})
        await send(ws, {"type": "ping"})
        assert (await recv_until(ws, "pong"))[-1]["type"] == "pong"
        await ws.close()
        ws, _ = await ready_chat(base, user.token)  # once: not again after the ack
        async with db.sessions() as session, session.begin():
            later = await notifications.create(
                session, user.id, type=NotificationType.GOAL, title="later", message="later"
            )
        seen = await frames_before(ws, later.id)
        assert all(f.get("id") not in (alert["id"], missed["id"]) for f in seen)
        await ws.close()

    async with db.sessions() as session:
        checks = await session.scalar(
            select(func.count()).where(
                TokenTransaction.goal_id == goal.id,
                TokenTransaction.type == TransactionType.DEDUCTION,
                TokenTransaction.description.startswith("goal check"),
            )
        )
        history = await session.scalar(
            select(func.count()).where(PriceTracking.deal_id == other.id)
        )
    assert checks >= 2 and history >= 3
    await admin(sandbox, "DELETE", "prices")


async def _above(sessions, goal_id, price: Decimal, not_id: uuid.UUID | None = None):
    found = [
        d
        for d in await deals_of(sessions, goal_id)
        if d.current_price > price and d.id != not_id and d.status == "active"
    ]
    return min(found, key=lambda d: d.current_price) if found else None


async def new_goals(sessions, count: int) -> list[Goal]:
    goals = []
    async with sessions() as session, session.begin():
        for _ in range(count):
            user = await make_user(session, token_balance=Decimal(100))
            goals.append(await make_goal(session, user, title="4k monitor"))
    return goals


async def check_charges(sessions, goal_id: uuid.UUID, at_least: int = 1) -> int:
    """The goal's charged checks, 0 until there are `at_least` of them."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(
                TokenTransaction.goal_id == goal_id,
                TokenTransaction.description.startswith("goal check"),
            )
        )
    return count if count >= at_least else 0


async def checks_settled(sessions, goal_id: uuid.UUID) -> bool:
    return await jobs_settled(sessions, CHECK_TASK, goal_id=str(goal_id))


async def queue_twice(settings, url: str, goals: list[Goal]) -> None:
    """Each goal's first slot queued twice, with no queue locks: only the check's own
    slot guard stands between two workers and a double check."""
    monitor = Monitor(settings, url)
    await monitor.open()
    try:
        for goal in goals:
            for _ in range(2):
                job = monitor.app.configure_task(CHECK_TASK, queue=QUEUE)
                await job.defer_async(goal_id=str(goal.id), slot=None)
    finally:
        await monitor.close()


async def test_two_workers_never_check_one_slot_twice(db, sandbox, settings, tmp_path):
    goals = await new_goals(db.sessions, 6)
    await set_fault(sandbox, "amazon", "slow", 0.5)  # checks overlap across the workers
    await queue_twice(settings, db.url, goals)
    # A long interval: after the first slot, nothing is due again during the test.
    slow = {"MONITOR_INTERVAL_MEDIUM_S": "3600"}
    with (
        worker_process(db.url, sandbox, str(tmp_path / "w1.log"), **slow),
        worker_process(db.url, sandbox, str(tmp_path / "w2.log"), **slow),
    ):
        for goal in goals:  # both of its queued checks done, one way or the other
            await eventually(lambda g=goal: check_charges(db.sessions, g.id), wait_s=60)
            await eventually(lambda g=goal: checks_settled(db.sessions, g.id), wait_s=60)
    await admin(sandbox, "DELETE", "faults")
    for goal in goals:
        assert await check_charges(db.sessions, goal.id) == 1
        async with db.sessions() as session:
            deals = await session.scalar(select(func.count()).where(Deal.goal_id == goal.id))
            tracked = await session.scalar(
                select(func.count())
                .select_from(PriceTracking)
                .join(Deal)
                .where(Deal.goal_id == goal.id)
            )
        assert tracked == deals > 0  # one observation each: stored once
    logs = (tmp_path / "w1.log").read_text() + (tmp_path / "w2.log").read_text()
    assert "slot already checked" in logs or "changed meanwhile" in logs


async def test_a_worker_killed_mid_check_leaves_nothing_and_the_check_is_retried(
    db, sandbox, settings, tmp_path
):
    (goal,) = await new_goals(db.sessions, 1)
    for market in ("amazon", "walmart", "ebay", "target", "bestbuy"):
        await set_fault(sandbox, market, "slow", 4)
    slow = {"MONITOR_INTERVAL_MEDIUM_S": "3600"}
    before = await _requests(sandbox)
    with worker_process(db.url, sandbox, str(tmp_path / "doomed.log"), **slow) as doomed:
        # Its search is under way: every market asked, none answered yet.
        await eventually(lambda: _requests(sandbox, more_than=before + 4), wait_s=30)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
    assert await deals_of(db.sessions, goal.id) == []
    assert await check_charges(db.sessions, goal.id) == 0
    await admin(sandbox, "DELETE", "faults")
    with worker_process(db.url, sandbox, str(tmp_path / "heir.log"), **slow):
        await eventually(lambda: check_charges(db.sessions, goal.id), wait_s=60)
        await eventually(lambda: checks_settled(db.sessions, goal.id), wait_s=60)
    assert await check_charges(db.sessions, goal.id) == 1
    async with db.sessions() as session:
        after = await session.get(Goal, goal.id)
    assert after.status == GoalStatus.ACTIVE and after.last_checked_at is not None
    assert "retrying job" in (tmp_path / "heir.log").read_text()


async def _requests(sandbox: str, more_than: int = -1) -> int:
    """The sandbox's request count so far, 0 until it is over `more_than`."""
    count = sum((await admin(sandbox, "GET", "state"))["requests"].values())
    return count if count > more_than else 0
