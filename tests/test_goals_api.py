"""Goals over real HTTP (/api/v1/goals): listed and read per user with their deals and
spend; paused, resumed, cancelled and changed, with every refusal changing nothing."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from core import goals, ledger
from core.auth import issue_token
from core.goals import GoalAction, GoalDraft
from core.models import Goal, User
from core.models.enums import DealStatus, GoalStatus, TokenScope, TokenType
from tests.chat_accounts import ChatUser, make_user
from tests.factories import make_deal


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=f"{live_server}/api/v1") as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_goal(sessions, user_id: uuid.UUID, title: str = "monitor", **fields) -> uuid.UUID:
    draft = GoalDraft(title=title, **fields)
    async with sessions() as session, session.begin():
        return (await goals.create_goal(session, user_id, draft)).id


async def stored(sessions, goal_id: uuid.UUID) -> Goal:
    async with sessions() as session:
        return await session.get_one(Goal, goal_id)


async def active_count(sessions, user_id: uuid.UUID) -> int:
    async with sessions() as session:
        return await session.scalar(select(User.active_goals_count).where(User.id == user_id))


def snapshot(goal: Goal) -> tuple:
    return (goal.status, goal.max_budget, goal.target_price, goal.end_date, goal.updated_at)


async def test_list_newest_first_filtered_and_paged(client, sessions):
    user, other = await make_user(sessions), await make_user(sessions)
    first = await new_goal(sessions, user.id, "first")
    paused = await new_goal(sessions, user.id, "second")
    await new_goal(sessions, user.id, "third")
    await new_goal(sessions, other.id, "theirs")
    async with sessions() as session, session.begin():
        await goals.update_goal(session, user.id, paused, action=GoalAction.PAUSE)

    listed = await client.get("/goals", headers=auth(user.token))
    assert listed.status_code == 200, listed.text
    assert [g["title"] for g in listed.json()["items"]] == ["third", "second", "first"]
    assert listed.json()["total"] == 3
    only = await client.get("/goals", params={"status": "paused"}, headers=auth(user.token))
    assert [(g["id"], g["status"]) for g in only.json()["items"]] == [(str(paused), "paused")]
    page = await client.get("/goals", params={"limit": 1, "offset": 2}, headers=auth(user.token))
    assert ([g["id"] for g in page.json()["items"]], page.json()["total"]) == ([str(first)], 3)
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"status": "done"}, {"x": 1}):
        refused = await client.get("/goals", params=params, headers=auth(user.token))
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == f"query.{next(iter(params))}"


async def test_get_shows_fields_deals_cheapest_first_and_spend(client, sessions):
    user, other = await make_user(sessions), await make_user(sessions)
    goal_id = await new_goal(
        sessions,
        user.id,
        max_budget=Decimal("300"),
        target_price=Decimal("250"),
        constraints={"keywords": ["4k"]},
    )
    async with sessions() as session, session.begin():
        goal = await session.get_one(Goal, goal_id)
        for price in ("249.99", "199.00", "220.50"):
            await make_deal(
                session, goal, current_price=Decimal(price), meta_data={"market": "amazon"}
            )
        await make_deal(
            session, goal, current_price=Decimal("210"), status=DealStatus.EXPIRED, meta_data={}
        )
        await ledger.deduct(
            session, user.id, Decimal("0.5"), description="check 1", goal_id=goal_id
        )
    async with sessions() as session, session.begin():  # a later transaction: a later time
        await ledger.deduct(
            session, user.id, Decimal("0.25"), description="check 2", goal_id=goal_id
        )
        await ledger.deduct(session, user.id, Decimal("1"), description="not the goal's")

    response = await client.get(f"/goals/{goal_id}", headers=auth(user.token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["status"], body["title"]) == (str(goal_id), "active", "monitor")
    assert (body["max_budget"], body["target_price"]) == ("300.00", "250.00")
    assert body["constraints"] == {"keywords": ["4k"]}
    assert (body["category"], body["priority"], body["total_matches_found"]) == (
        "other",
        "medium",
        0,
    )
    for field in ("min_discount_percent", "max_tokens", "end_date", "last_checked_at"):
        assert body[field] is None
    assert [d["price"] for d in body["deals"]] == ["199.00", "210.00", "220.50", "249.99"]
    assert [d["market"] for d in body["deals"]] == ["amazon", None, "amazon", "amazon"]
    assert body["deals"][1]["status"] == "expired"
    assert set(body["deals"][0]) == {
        "id",
        "title",
        "price",
        "original_price",
        "discount_percent",
        "status",
        "market",
        "url",
        "last_checked_at",
    }
    spend = body["spend"]
    assert spend["total_tokens_spent"] == body["total_tokens_spent"] == "0.75000000"
    assert [(t["amount"], t["description"], t["status"]) for t in spend["transactions"]] == [
        ("0.25000000", "check 2", "completed"),
        ("0.50000000", "check 1", "completed"),
    ]

    for goal in (goal_id, uuid.uuid4()):
        refused = await client.get(f"/goals/{goal}", headers=auth(other.token))
        assert (refused.status_code, refused.json()["code"]) == (404, "goal_not_found")


async def test_pause_resume_cancel_keep_the_active_count(client, sessions):
    user = await make_user(sessions)
    goal_id = await new_goal(sessions, user.id)
    await new_goal(sessions, user.id, "another")
    assert await active_count(sessions, user.id) == 2

    async def patch(**body) -> httpx.Response:
        return await client.patch(f"/goals/{goal_id}", json=body, headers=auth(user.token))

    paused = await patch(status="paused")
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    assert await active_count(sessions, user.id) == 1
    assert (await patch(status="active")).json()["status"] == "active"
    assert await active_count(sessions, user.id) == 2
    assert (await patch(status="cancelled")).json()["status"] == "cancelled"
    assert await active_count(sessions, user.id) == 1

    before = snapshot(await stored(sessions, goal_id))
    resumed = await patch(status="active")
    assert resumed.status_code == 409
    assert resumed.json() == {
        "type": "https://dealagent.dev/problems/invalid_transition",
        "title": "The goal's status does not allow this",
        "status": 409,
        "detail": "Cannot resume a goal that is cancelled.",
        "code": "invalid_transition",
    }
    changed = await patch(max_budget="500")
    assert (changed.status_code, changed.json()["code"]) == (409, "goal_cancelled")
    assert snapshot(await stored(sessions, goal_id)) == before
    assert await active_count(sessions, user.id) == 1


async def test_patch_changes_budget_target_and_deadline(client, sessions):
    user = await make_user(sessions)
    goal_id = await new_goal(sessions, user.id, max_budget=Decimal("300"))
    deadline = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0, tzinfo=None)
    response = await client.patch(
        f"/goals/{goal_id}",
        json={"max_budget": "350", "target_price": 280.5, "end_date": deadline.isoformat()},
        headers=auth(user.token),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["max_budget"], body["target_price"]) == ("350.00", "280.50")
    assert datetime.fromisoformat(body["end_date"]) == deadline.replace(tzinfo=UTC)
    goal = await stored(sessions, goal_id)
    assert (goal.max_budget, goal.target_price) == (Decimal("350.00"), Decimal("280.50"))
    assert goal.end_date == deadline.replace(tzinfo=UTC)  # no zone given: UTC
    assert goal.status == GoalStatus.ACTIVE
    assert (await client.patch(f"/goals/{goal_id}", json={}, headers=auth(user.token))).json()[
        "target_price"
    ] == "280.50"


PAST = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": "completed"}, "status"),
        ({"target_price": "301"}, "target_price"),  # over the stored budget of 300
        ({"max_budget": "200"}, "max_budget"),  # under the stored target of 250
        ({"max_budget": "400", "target_price": "450"}, "target_price"),
        ({"max_budget": "-5"}, "max_budget"),
        ({"target_price": "0"}, "target_price"),
        ({"max_budget": "1000000.01"}, "max_budget"),
        ({"max_budget": "1e12"}, "max_budget"),
        ({"target_price": "NaN"}, "target_price"),
        ({"target_price": "12.345"}, "target_price"),
        ({"end_date": PAST}, "end_date"),
        ({"end_date": "next friday"}, "end_date"),
        ({"max_budget": None}, "max_budget"),
        ({"title": "renamed"}, "title"),
    ],
)
async def test_invalid_changes_are_422_naming_the_field(client, sessions, body, field):
    user = await make_user(sessions)
    goal_id = await new_goal(
        sessions, user.id, max_budget=Decimal("300"), target_price=Decimal("250")
    )
    before = snapshot(await stored(sessions, goal_id))
    response = await client.patch(f"/goals/{goal_id}", json=body, headers=auth(user.token))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert response.json()["errors"][0]["field"] == f"body.{field}"
    assert response.json()["detail"].startswith(f"{field}: ")
    assert snapshot(await stored(sessions, goal_id)) == before
    assert await active_count(sessions, user.id) == 1


async def test_another_users_goal_is_404_and_unchanged(client, sessions):
    owner, other = await make_user(sessions), await make_user(sessions)
    goal_id = await new_goal(sessions, owner.id, max_budget=Decimal("300"))
    before = snapshot(await stored(sessions, goal_id))
    for body in ({"status": "cancelled"}, {"max_budget": "10"}):
        response = await client.patch(f"/goals/{goal_id}", json=body, headers=auth(other.token))
        assert response.status_code == 404
        assert response.json()["code"] == "goal_not_found"
    assert snapshot(await stored(sessions, goal_id)) == before
    assert (await active_count(sessions, owner.id), await active_count(sessions, other.id)) == (
        1,
        0,
    )


async def scoped_token(sessions, user: ChatUser, scope: TokenScope) -> str:
    async with sessions() as session, session.begin():
        return await issue_token(session, user.id, TokenType.ACCESS, scope, 600)


async def test_a_read_token_reads_goals_but_cannot_change_them(client, sessions):
    user = await make_user(sessions)
    goal_id = await new_goal(sessions, user.id)
    read = await scoped_token(sessions, user, TokenScope.READ)
    assert (await client.get(f"/goals/{goal_id}", headers=auth(read))).status_code == 200
    refused = await client.patch(f"/goals/{goal_id}", json={"status": "paused"}, headers=auth(read))
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    assert (await stored(sessions, goal_id)).status == GoalStatus.ACTIVE
    assert await active_count(sessions, user.id) == 1
    limited = await scoped_token(sessions, user, TokenScope.LIMITED)  # may chat: may change
    paused = await client.patch(
        f"/goals/{goal_id}", json={"status": "paused"}, headers=auth(limited)
    )
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    assert await active_count(sessions, user.id) == 0


async def test_goals_need_a_token(client):
    goal = uuid.uuid4()
    for method, path in (("GET", "/goals"), ("GET", f"/goals/{goal}"), ("PATCH", f"/goals/{goal}")):
        assert (await client.request(method, path, json={})).status_code == 401
