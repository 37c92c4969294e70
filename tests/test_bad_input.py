"""Input PostgreSQL or Python's parser cannot take, over real HTTP and a real WebSocket:
NUL characters in any text, JSON nested without end, numbers past what SQL can hold.
Each is refused with a clear code and the field named; nothing is stored, nothing 500s."""

import json
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from api.inputs import MAX_JSON_DEPTH
from api.paging import MAX_OFFSET
from core.models import ChatMessage, User
from tests.accounts_client import PASSWORD, new_email
from tests.chat_accounts import ChatUser, make_goal, make_user
from tests.chat_client import close_code, open_chat, ready_chat, recv, recv_until, send

NUL = "\u0000"
SHOWN = "\\u0000"  # how a key holding NUL is named back


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=f"{live_server}/api/v1", timeout=30) as client:
        yield client


@pytest.fixture
async def user(sessions) -> ChatUser:
    return await make_user(sessions)


def auth(user: ChatUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


async def profile(client: httpx.AsyncClient, user: ChatUser) -> dict:
    response = await client.get("/me", headers=auth(user))
    assert response.status_code == 200, response.text
    return response.json()


async def users_with_email(sessions, email: str) -> int:
    async with sessions() as session:
        query = select(func.count()).where(User.email == email.replace(NUL, "").lower())
        return await session.scalar(query)


# --- NUL in REST input ---------------------------------------------------------------


def signing_up(**fields: str) -> dict[str, str]:
    return {"email": new_email(), "password": PASSWORD, **fields}


# (method, path, JSON body, query, where the NUL is): every route that takes text.
NUL_INPUTS = [
    ("POST", "/auth/register", signing_up(name=f"A{NUL}da"), None, ["body", "name"]),
    (
        "POST",
        "/auth/register",
        signing_up(referral_code=f"AB{NUL}CD"),
        None,
        ["body", "referral_code"],
    ),
    ("POST", "/auth/register", signing_up(password=f"{PASSWORD}{NUL}"), None, ["body", "password"]),
    ("POST", "/auth/register", signing_up(email=f"a{NUL}b@example.com"), None, ["body", "email"]),
    ("POST", "/auth/register", signing_up(**{f"na{NUL}me": "Ada"}), None, ["body", f"na{SHOWN}me"]),
    ("POST", "/auth/login", signing_up(password=f"x{NUL}"), None, ["body", "password"]),
    ("POST", "/auth/login", signing_up(scope=f"read{NUL}"), None, ["body", "scope"]),
    ("POST", "/auth/refresh", {"refresh_token": f"t{NUL}"}, None, ["body", "refresh_token"]),
    ("POST", "/auth/password-reset/request", {"email": f"a{NUL}@b.co"}, None, ["body", "email"]),
    (
        "POST",
        "/auth/password-reset/confirm",
        {"token": f"t{NUL}", "new_password": PASSWORD},
        None,
        ["body", "token"],
    ),
    ("PATCH", "/me", {"name": f"A{NUL}"}, None, ["body", "name"]),
    (
        "PATCH",
        "/me",
        {"preferences": {"theme": f"dark{NUL}"}},
        None,
        ["body", "preferences", "theme"],
    ),
    ("PATCH", "/me", {"preferences": {f"a{NUL}b": 1}}, None, ["body", "preferences", f"a{SHOWN}b"]),
    (
        "PATCH",
        "/me",
        {"preferences": {"sizes": [{"deep": ["ok", f"x{NUL}"]}]}},
        None,
        ["body", "preferences", "sizes", 0, "deep", 1],
    ),
    (
        "PATCH",
        "/me",
        {"notification_channels": [f"email{NUL}"]},
        None,
        ["body", "notification_channels", 0],
    ),
    ("PATCH", "/me", {"sol_address": f"So1{NUL}"}, None, ["body", "sol_address"]),
    ("PATCH", "/goals/{goal}", {"status": f"paused{NUL}"}, None, ["body", "status"]),
    ("GET", "/deals", None, {"text": f"monitor{NUL}"}, ["query", "text"]),
    ("GET", "/deals", None, {f"te{NUL}xt": "monitor"}, ["query", f"te{SHOWN}xt"]),
    ("GET", "/goals", None, {"status": f"active{NUL}"}, ["query", "status"]),
    ("GET", "/notifications", None, {"type": f"deal{NUL}"}, ["query", "type"]),
    ("GET", "/tokens/transactions", None, {"limit": f"5{NUL}"}, ["query", "limit"]),
    ("GET", "/markets", None, {"x": NUL}, ["query", "x"]),
]


@pytest.mark.parametrize(("method", "path", "body", "query", "loc"), NUL_INPUTS)
async def test_nul_in_any_text_is_422_naming_the_field(
    client, sessions, user, method, path, body, query, loc
):
    before = await profile(client, user)
    response = await client.request(
        method,
        path.format(goal=uuid.uuid4()),
        json=body,
        params=query,
        headers=auth(user),
    )
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["code"] == "invalid_content"
    assert [problem["field"] for problem in answer["errors"]] == [".".join(map(str, loc))]
    where = ".".join(str(part) for part in loc if part != "body")
    assert answer["detail"] == f"{where}: text may not contain NUL (\\u0000)"
    assert await profile(client, user) == before
    if path == "/auth/register":
        assert await users_with_email(sessions, body["email"]) == 0


async def test_text_without_nul_still_goes_through(client, user):
    """The check names NUL only: the escaped text "\\u0000" itself is fine."""
    changed = await client.patch(
        "/me", json={"name": SHOWN, "preferences": {SHOWN: [SHOWN]}}, headers=auth(user)
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["preferences"]) == (SHOWN, {SHOWN: [SHOWN]})


# --- NUL in chat frames ----------------------------------------------------------------

NUL_FRAMES = [
    ({"type": "user_message", "id": "n1", "content": f"find a monitor{NUL}"}, "content", "n1"),
    ({"type": "user_message", "id": f"n{NUL}2", "content": "hi"}, "id", f"n{NUL}2"),
    ({"type": "user_message", "id": "n3", "content": "hi", f"x{NUL}": 1}, f"x{SHOWN}", "n3"),
    ({"type": "history", "limit": 5, "before": f"{NUL}"}, "before", None),
    ({"type": "ack", "notification_id": f"{uuid.uuid4()}{NUL}"}, "notification_id", None),
]


async def test_nul_in_a_frame_is_an_invalid_content_error_and_the_socket_stays(
    live_server, sessions
):
    user = await make_user(sessions)
    ws, _ = await ready_chat(live_server, user.token)
    for frame, field, client_id in NUL_FRAMES:
        await send(ws, frame)
        error = await recv(ws)
        assert (error["type"], error["code"]) == ("error", "invalid_content"), (frame, error)
        assert error["message"] == f"{field}: text may not contain NUL (\\u0000)"
        assert error.get("id") == client_id
    await send(ws, {"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    async with sessions() as session:
        stored = await session.scalar(select(func.count()).where(ChatMessage.user_id == user.id))
    assert stored == 0
    await ws.close()


async def test_a_raw_nul_or_an_unpaired_surrogate_is_invalid_content(live_server, sessions):
    """JSON allows NUL only escaped; sent raw, it is still named as NUL, not a JSON error.
    Half a surrogate pair cannot be stored either (UTF-8 cannot encode it)."""
    user = await make_user(sessions)
    ws, _ = await ready_chat(live_server, user.token)
    await ws.send(f'{{"type": "user_message", "id": "r1", "content": "a monitor{NUL}"}}')
    error = await recv(ws)
    assert (error["code"], error["id"]) == ("invalid_content", "r1")
    assert error["message"] == "content: text may not contain NUL (\\u0000)"
    await ws.send(f'{{"type": "ping"}}{NUL}')  # outside a string it is no JSON at all
    assert (await recv(ws))["code"] == "invalid_json"
    for frame in (
        '{"type": "user_message", "id": "s1", "content": "a monitor \\ud83d"}',
        '{"type": "user_message", "id": "s2", "content": "hi", "x\\udfff": 1}',
    ):
        await ws.send(frame)
        error = await recv(ws)
        assert (error["code"], error["id"]) == ("invalid_content", json.loads(frame)["id"])
        assert "text may not contain an unpaired surrogate (\\ud800-\\udfff)" in error["message"]
    assert error["message"].startswith("x\\udfff: ")
    async with sessions() as session:
        stored = await session.scalar(select(func.count()).where(ChatMessage.user_id == user.id))
    assert stored == 0
    await ws.close()


async def test_an_auth_frame_with_nul_in_its_token_is_a_bad_token(live_server):
    ws = await open_chat(live_server)
    await send(ws, {"type": "auth", "token": f"not-a-token{NUL}"})
    assert await close_code(ws) == 4401


# --- JSON nested without end -----------------------------------------------------------


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(
    "raw",
    ["[" * 5000, nested(5000), '{"type": "ping", "x": ' + nested(MAX_JSON_DEPTH) + "}"],
    ids=["unclosed", "closed", "one-too-deep"],
)
async def test_a_deeply_nested_frame_is_invalid_json_and_the_socket_stays(
    live_server, sessions, raw
):
    user = await make_user(sessions)
    ws, _ = await ready_chat(live_server, user.token)
    await ws.send(raw)
    error = await recv(ws)
    assert (error["type"], error["code"]) == ("error", "invalid_json"), error
    assert f"deeper than {MAX_JSON_DEPTH} levels" in error["message"]
    # Just within the bound is an ordinary frame.
    await ws.send('{"type": "ping", "x": ' + nested(MAX_JSON_DEPTH - 1) + "}")
    assert await recv(ws) == {"type": "pong"}
    await ws.close()


def nested_preferences(depth: int) -> str:
    """A PATCH /me body nesting `depth` levels in all (the body itself is the first)."""
    inner = "{}"
    for _ in range(depth - 2):
        inner = '{"a": ' + inner + "}"
    return '{"preferences": ' + inner + "}"


@pytest.mark.parametrize(
    "raw",
    [nested_preferences(MAX_JSON_DEPTH + 1), "[" * 5000, '{"name": ' + nested(5000) + "}"],
    ids=["one-too-deep", "unclosed", "closed"],
)
async def test_a_deeply_nested_body_is_422_json_too_deep(client, user, raw):
    before = await profile(client, user)
    headers = {**auth(user), "Content-Type": "application/json"}
    response = await client.patch("/me", content=raw, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "json_too_deep"
    assert response.json()["detail"] == f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
    assert await profile(client, user) == before


async def test_a_body_nested_just_within_the_bound_is_stored(client, user):
    raw = nested_preferences(MAX_JSON_DEPTH)
    headers = {**auth(user), "Content-Type": "application/json"}
    response = await client.patch("/me", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["preferences"] == json.loads(raw)["preferences"]


# --- numbers past what SQL takes ----------------------------------------------------

PAGED = ["/tokens/transactions", "/goals", "/notifications"]
TOO_BIG = str(2**63)  # one past PostgreSQL's bigint


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize(
    "query",
    [
        {"offset": TOO_BIG},
        {"offset": str(MAX_OFFSET + 1)},
        {"offset": "-1"},
        {"limit": TOO_BIG},
        {"limit": "101"},
        {"limit": "0"},
    ],
)
async def test_paging_out_of_bounds_is_422(client, user, path, query):
    response = await client.get(path, params=query, headers=auth(user))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert [p["field"] for p in response.json()["errors"]] == [f"query.{next(iter(query))}"]


@pytest.mark.parametrize("path", PAGED)
async def test_the_deepest_page_allowed_is_an_empty_page(client, user, path):
    query = {"offset": str(MAX_OFFSET), "limit": "100"}
    response = await client.get(path, params=query, headers=auth(user))
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [] and response.json()["offset"] == MAX_OFFSET


@pytest.mark.parametrize(
    "query",
    [
        {"limit": TOO_BIG},
        {"limit": "0"},
        {"min_discount": "1e-30000"},  # a numeric PostgreSQL cannot hold
        {"min_discount": "12.345"},
        {"min_price": "1e-30000"},
        {"max_price": TOO_BIG},
    ],
)
async def test_deal_filters_out_of_bounds_are_422(client, user, query):
    response = await client.get("/deals", params=query, headers=auth(user))
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["errors"]] == [f"query.{next(iter(query))}"]


async def test_a_history_frame_past_its_bounds_is_invalid(live_server, sessions):
    user = await make_user(sessions)
    ws, _ = await ready_chat(live_server, user.token)
    for limit in (2**63, 201, 0):
        await send(ws, {"type": "history", "limit": limit})
        assert (await recv(ws))["code"] == "invalid_frame"
    await send(ws, {"type": "history", "limit": 200})
    assert (await recv_until(ws, "history"))[-1]["messages"] == []
    await ws.close()


async def test_a_deadline_past_the_year_9999_in_utc_is_422_and_changes_nothing(
    client, sessions, user
):
    goal_id = await make_goal(sessions, user.id)
    late = await client.patch(
        f"/goals/{goal_id}", json={"end_date": "9999-12-31T23:59:59-10:00"}, headers=auth(user)
    )
    assert late.status_code == 422, late.text
    assert [p["field"] for p in late.json()["errors"]] == ["body.end_date"]
    goal = await client.get(f"/goals/{goal_id}", headers=auth(user))
    assert goal.status_code == 200 and goal.json()["end_date"] is None
    latest = await client.patch(
        f"/goals/{goal_id}", json={"end_date": "9999-12-31T23:59:59+00:00"}, headers=auth(user)
    )
    assert latest.status_code == 200, latest.text
    assert latest.json()["end_date"] == "9999-12-31T23:59:59Z"
