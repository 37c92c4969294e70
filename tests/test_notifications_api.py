"""Notifications over real HTTP (/api/v1/notifications) and the WebSocket `read` frame:
listed, filtered and paged per user; read one, read all; another user's stay untouched."""

import uuid
from datetime import datetime

import httpx
import pytest

from core import notifications
from core.models.enums import NotificationPriority, NotificationStatus, NotificationType
from core.models.notifications import Notification
from tests.chat_accounts import ChatUser, make_user
from tests.chat_client import ready_chat, recv, send

PRICE_ALERT, DEAL = NotificationType.PRICE_ALERT, NotificationType.DEAL


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=f"{live_server}/api/v1") as client:
        yield client


def auth(user: ChatUser, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or user.token}"}


async def notify(sessions, user_id: uuid.UUID, title: str, **fields) -> uuid.UUID:
    """One notification in its own transaction, so each has its own created_at."""
    fields.setdefault("type", DEAL)
    async with sessions() as session, session.begin():
        row = await notifications.create(session, user_id, title=title, message="m", **fields)
    return row.id


async def row(sessions, notification_id: uuid.UUID) -> Notification:
    async with sessions() as session:
        return await session.get_one(Notification, notification_id)


async def test_list_newest_first_filtered_and_paged(client, sessions):
    user, other = await make_user(sessions), await make_user(sessions)
    deal = await notify(sessions, user.id, "n1", meta={"drop": "12.50"})
    await notify(sessions, user.id, "n2", type=PRICE_ALERT, priority=NotificationPriority.HIGH)
    await notify(sessions, user.id, "n3")
    await notify(sessions, user.id, "n4", type=PRICE_ALERT)
    await notify(sessions, other.id, "theirs", type=PRICE_ALERT)
    async with sessions() as session, session.begin():
        await notifications.mark_read(session, user.id, [deal])

    listed = await client.get("/notifications", headers=auth(user))
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["total"], body["limit"], body["offset"]) == (4, 20, 0)
    assert [n["title"] for n in body["items"]] == ["n4", "n3", "n2", "n1"]
    first = body["items"][-1]
    assert first["id"] == str(deal)
    assert (first["type"], first["status"], first["priority"]) == ("deal", "read", "medium")
    assert first["meta_data"] == {"drop": "12.50"}
    assert first["read_at"] is not None and first["delivered_at"] is not None
    assert first["goal_id"] is None and first["action_url"] is None and first["sent_at"] is None
    assert datetime.fromisoformat(first["created_at"]).tzinfo is not None

    alerts = await client.get("/notifications", params={"type": "price_alert"}, headers=auth(user))
    assert [n["title"] for n in alerts.json()["items"]] == ["n4", "n2"]
    assert alerts.json()["items"][1]["priority"] == "high"
    unread = await client.get(
        "/notifications", params={"status": "pending", "type": "deal"}, headers=auth(user)
    )
    assert ([n["title"] for n in unread.json()["items"]], unread.json()["total"]) == (["n3"], 1)
    page = await client.get("/notifications", params={"limit": 2, "offset": 1}, headers=auth(user))
    assert [n["title"] for n in page.json()["items"]] == ["n3", "n2"]
    assert (page.json()["total"], page.json()["limit"], page.json()["offset"]) == (4, 2, 1)
    beyond = await client.get("/notifications", params={"offset": 4}, headers=auth(user))
    assert (beyond.json()["items"], beyond.json()["total"]) == ([], 4)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10_000_001}, "offset"),
        ({"status": "unread"}, "status"),
        ({"type": "promo"}, "type"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_list_parameters_are_422(client, sessions, params, field):
    user = await make_user(sessions)
    response = await client.get("/notifications", params=params, headers=auth(user))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert response.json()["errors"][0]["field"].rsplit(".", 1)[-1] == field


async def test_read_one_keeps_the_first_read_and_refuses_other_users(client, sessions):
    user, other = await make_user(sessions), await make_user(sessions)
    mine = await notify(sessions, user.id, "mine")
    theirs = await notify(sessions, other.id, "theirs")
    before = await row(sessions, theirs)

    read = await client.post(f"/notifications/{mine}/read", headers=auth(user))
    assert read.status_code == 200, read.text
    assert (read.json()["id"], read.json()["status"]) == (str(mine), "read")
    stored = await row(sessions, mine)
    assert stored.status == NotificationStatus.READ
    assert stored.read_at is not None and stored.delivered_at == stored.read_at
    assert datetime.fromisoformat(read.json()["read_at"]) == stored.read_at

    again = await client.post(f"/notifications/{mine}/read", headers=auth(user))  # idempotent
    assert again.status_code == 200
    assert (await row(sessions, mine)).read_at == stored.read_at

    for target in (theirs, uuid.uuid4()):
        refused = await client.post(f"/notifications/{target}/read", headers=auth(user))
        assert refused.status_code == 404
        assert refused.json()["code"] == "notification_not_found"
    after = await row(sessions, theirs)
    assert (after.status, after.read_at, after.delivered_at, after.updated_at) == (
        NotificationStatus.PENDING,
        None,
        None,
        before.updated_at,
    )


async def test_read_all_marks_only_the_users_unread(client, sessions):
    user, other = await make_user(sessions), await make_user(sessions)
    ids = [await notify(sessions, user.id, f"n{i}") for i in range(3)]
    already = await notify(sessions, user.id, "already read")
    theirs = await notify(sessions, other.id, "theirs")
    async with sessions() as session, session.begin():
        await notifications.mark_read(session, user.id, [already])
    first_read = (await row(sessions, already)).read_at

    done = await client.post("/notifications/read-all", headers=auth(user))
    assert (done.status_code, done.json()) == (200, {"marked_read": 3})
    for notification_id in ids:
        assert (await row(sessions, notification_id)).status == NotificationStatus.READ
    assert (await row(sessions, already)).read_at == first_read
    assert (await row(sessions, theirs)).status == NotificationStatus.PENDING
    again = await client.post("/notifications/read-all", headers=auth(user))
    assert again.json() == {"marked_read": 0}


async def test_a_read_scope_token_may_list_and_read(client, sessions):
    user = await make_user(sessions)
    mine = await notify(sessions, user.id, "mine")
    token = await user.read_token()
    listed = await client.get("/notifications", headers=auth(user, token))
    assert [n["id"] for n in listed.json()["items"]] == [str(mine)]
    read = await client.post(f"/notifications/{mine}/read", headers=auth(user, token))
    assert (read.status_code, read.json()["status"]) == (200, "read")


async def test_notifications_need_a_token(client):
    for method, path in (
        ("GET", "/notifications"),
        ("POST", "/notifications/read-all"),
        ("POST", f"/notifications/{uuid.uuid4()}/read"),
    ):
        assert (await client.request(method, path)).status_code == 401


async def test_ws_read_frame_marks_read_and_refuses_other_users_ids(live_server, sessions):
    user, other = await make_user(sessions), await make_user(sessions)
    mine = await notify(sessions, user.id, "mine")
    theirs = await notify(sessions, other.id, "theirs")
    before = await row(sessions, theirs)
    ws, _ = await ready_chat(live_server, user.token)
    assert (await recv(ws))["id"] == str(mine)  # pushed on connect

    await send(ws, {"type": "read", "notification_id": str(theirs)})
    assert await recv(ws) == {
        "type": "error",
        "code": "notification_not_found",
        "message": "no such notification of yours",
    }
    await send(ws, {"type": "read", "notification_id": "not-a-uuid"})
    assert (await recv(ws))["code"] == "invalid_frame"
    await send(ws, {"type": "read", "notification_id": str(mine)})
    await send(ws, {"type": "ping"})
    assert await recv(ws) == {"type": "pong"}  # the socket stayed open throughout
    stored = await row(sessions, mine)
    assert stored.status == NotificationStatus.READ
    assert stored.read_at is not None and stored.sent_at is not None
    after = await row(sessions, theirs)
    assert (after.status, after.read_at, after.updated_at) == (
        NotificationStatus.PENDING,
        None,
        before.updated_at,
    )

    # A late `ack` of a notification already read leaves it read.
    await send(ws, {"type": "ack", "notification_id": str(mine)})
    await send(ws, {"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    assert (await row(sessions, mine)).status == NotificationStatus.READ
    await ws.close()
