"""The auth flow over real HTTP: the app under uvicorn, on the test PostgreSQL."""

import asyncio
import logging
import re
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, text, update

from api.main import create_app
from core.models import AuthToken, TokenTransaction, User
from core.models.enums import TokenStatus, TokenType, TransactionType, UserStatus
from tests.accounts_client import PASSWORD, bearer, login, new_email, register, signed_up
from tests.live_server import serve_in_thread


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=f"{live_server}/api/v1", timeout=30) as client:
        yield client


async def test_new_user_registers_logs_in_and_sees_the_grant(client, settings):
    user = await register(client, name="Ada")
    assert user["email"] == user["email"].lower()
    assert Decimal(user["token_balance"]) == settings.signup_grant
    assert re.fullmatch(r"[A-Z2-9]{8}", user["referral_code"])
    tokens = await login(client, user["email"].upper())
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = (await client.get("/me", headers=bearer(tokens))).json()
    assert me["name"] == "Ada" and me["last_login_at"] is not None
    assert Decimal(me["stats"]["total_rewards_earned"]) == settings.signup_grant
    balance = (await client.get("/tokens/balance", headers=bearer(tokens))).json()
    assert Decimal(balance["token_balance"]) == settings.signup_grant
    assert balance["total_tokens_spent"] == "0.00000000"
    page = (await client.get("/tokens/transactions", headers=bearer(tokens))).json()
    assert page["total"] == 1
    assert page["items"][0]["type"] == "reward" and page["items"][0]["status"] == "completed"


async def test_duplicate_email_is_409(client):
    user = await register(client)
    again = await client.post(
        "/auth/register", json={"email": user["email"].upper(), "password": PASSWORD}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "email_taken"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email: Field required"),
        ({"email": "x@example.com", "password": PASSWORD, "admin": True}, "admin"),
    ],
)
async def test_bad_registrations_are_422_with_a_message(client, body, needle):
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert needle in response.json()["detail"]


@pytest.mark.parametrize(
    ("password", "needle"),
    [("short1!", "at least 10"), ("abcdefghijkl", "mix letters"), ("aaaaaaaaaa1", "4 different")],
)
async def test_weak_passwords_are_refused(client, password, needle):
    body = {"email": new_email(), "password": password}
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "weak_password"
    assert needle in response.json()["detail"]


@pytest.mark.parametrize("payload", [b"{not json", b"", b'{"email": "a@b.c",}', b"[1, 2]"])
async def test_malformed_json_is_422_with_a_readable_message(client, payload):
    response = await client.post(
        "/auth/login", content=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] and body["errors"] and body["code"] == "invalid_request"
    if payload not in (b"", b"[1, 2]"):
        assert "not valid JSON" in body["detail"]


async def test_an_oversized_body_is_413_and_stores_nothing(client, settings, sessions):
    email = new_email()
    padding = "x" * settings.max_request_bytes
    declared = await client.post(
        "/auth/register", json={"email": email, "password": PASSWORD, "name": padding}
    )

    async def chunks():  # no Content-Length: counted as it arrives
        yield f'{{"email": "{email}", "password": "{PASSWORD}", "name": "'.encode()
        for _ in range(settings.max_request_bytes // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    streamed = await client.post(
        "/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "type": "https://dealagent.dev/problems/payload_too_large",
            "title": "The request body is too large",
            "status": 413,
            "detail": f"the request body is larger than {settings.max_request_bytes} bytes",
            "code": "payload_too_large",
        }
    async with sessions() as session:
        assert await session.scalar(select(User.id).where(User.email == email)) is None
    assert (
        await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    ).is_success


def padded(size: int) -> bytes:
    """A refresh request of exactly `size` bytes (JSON allows trailing white space)."""
    body = b'{"refresh_token": "not-a-token"}'
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_413(
    client, settings, declared
):
    async def post(body: bytes) -> httpx.Response:
        async def chunks():  # no Content-Length: counted as it arrives
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]

        content = body if declared else chunks()
        headers = {"Content-Type": "application/json"}
        return await client.post("/auth/refresh", content=content, headers=headers)

    at_limit = await post(padded(settings.max_request_bytes))
    assert (at_limit.status_code, at_limit.json()["code"]) == (401, "invalid_token")
    over = await post(padded(settings.max_request_bytes + 1))
    assert (over.status_code, over.json()["code"]) == (413, "payload_too_large")


async def test_wrong_password_and_unknown_email_look_the_same(client):
    user = await register(client)
    wrong = await client.post("/auth/login", json={"email": user["email"], "password": "nope"})
    unknown = await client.post("/auth/login", json={"email": new_email(), "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "type": "https://dealagent.dev/problems/invalid_credentials",
            "title": "Wrong email or password",
            "status": 401,
            "detail": "wrong email or password",
            "code": "invalid_credentials",
        }
    )


async def test_refresh_rotates_and_reuse_revokes_the_family(client):
    _, first = await signed_up(client)
    rotated = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/me", headers=bearer(second))).status_code == 200

    reused = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["code"] == "token_reused"
    # The whole login is gone: the newer refresh token and its access token too.
    after = await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401 and after.json()["code"] == "token_reused"
    me = await client.get("/me", headers=bearer(second))
    assert me.status_code == 401 and me.headers["WWW-Authenticate"] == "Bearer"


async def test_a_second_login_survives_reuse_in_another(client):
    user, first = await signed_up(client)
    other = await login(client, user["email"])
    await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert (await client.get("/me", headers=bearer(other))).status_code == 200


async def test_logout_revokes_access_and_refresh(client):
    _, tokens = await signed_up(client)
    assert (await client.post("/auth/logout", headers=bearer(tokens))).status_code == 204
    assert (await client.get("/me", headers=bearer(tokens))).json()["code"] == "token_revoked"
    refresh = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    assert (await client.post("/auth/logout", headers=bearer(tokens))).status_code == 401


async def test_expired_tokens_stop_working(client, sessions):
    user, tokens = await signed_up(client)
    async with sessions() as session, session.begin():
        await session.execute(
            update(AuthToken)
            .where(AuthToken.user_id == uuid.UUID(user["id"]))
            .values(expires_at=text("now() - interval '1 second'"))
        )
    me = await client.get("/me", headers=bearer(tokens))
    assert me.status_code == 401 and me.json()["code"] == "token_expired"
    refresh = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.json()["code"] == "token_expired"
    async with sessions() as session:
        statuses = await session.execute(
            select(AuthToken.token_type, AuthToken.status).where(
                AuthToken.user_id == uuid.UUID(user["id"])
            )
        )
        assert dict(statuses.all())[TokenType.REFRESH] == TokenStatus.EXPIRED


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Basic abc", "Bearer not-a-token", "Bearer abc.def", "Bearer " + "x" * 5000],
)
async def test_missing_or_forged_tokens_are_401(client, header):
    response = await client.get("/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["detail"]


async def test_scopes(client):
    user = await register(client)
    for scope, may_change in (("full", True), ("limited", False), ("read", False)):
        tokens = await login(client, user["email"], scope=scope)
        assert tokens["scope"] == scope
        assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
        assert (await client.get("/tokens/balance", headers=bearer(tokens))).status_code == 200
        patch = await client.patch("/me", json={"name": scope}, headers=bearer(tokens))
        assert patch.status_code == (200 if may_change else 403), patch.text
        if not may_change:
            assert patch.json()["code"] == "insufficient_scope"
        # A refreshed login keeps its scope.
        refreshed = await client.post(
            "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.json()["scope"] == scope
    bad = await client.post(
        "/auth/login", json={"email": user["email"], "password": PASSWORD, "scope": "admin"}
    )
    assert bad.status_code == 422


@pytest.mark.parametrize("status", [UserStatus.SUSPENDED, UserStatus.INACTIVE, UserStatus.DELETED])
async def test_disabled_users_are_shut_out_at_once(client, sessions, status):
    user, tokens = await signed_up(client)
    async with sessions() as session, session.begin():
        await session.execute(
            update(User).where(User.id == uuid.UUID(user["id"])).values(status=status)
        )
    me = await client.get("/me", headers=bearer(tokens))
    assert me.status_code == 401 and me.json()["code"] == "account_disabled"
    again = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert again.status_code == 401 and again.json()["code"] == "account_disabled"
    refresh = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


async def test_raw_tokens_never_reach_the_database(client, sessions, caplog):
    user, tokens = await signed_up(client)
    rotated = (
        await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    with caplog.at_level(logging.INFO, logger="core.mailer"):
        await client.post("/auth/password-reset/request", json={"email": user["email"]})
    reset = reset_token_in(caplog.text)
    raws = [tokens["access_token"], tokens["refresh_token"], *rotated.values(), reset]
    raws = [r for r in raws if isinstance(r, str) and len(r) > 40]
    assert len(raws) == 5
    async with sessions() as session:
        tables = await session.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        for table in list(tables):
            dump = await session.scalar(
                text(f"SELECT coalesce(string_agg(t::text, '\n'), '') FROM \"{table}\" t")
            )
            for raw in raws:
                assert raw not in dump and raw.split(".")[0] not in dump, table


def reset_token_in(log_text: str) -> str:
    return re.findall(r"Your reset token: (\S+)", log_text)[-1]


async def test_password_reset(client, caplog):
    user, tokens = await signed_up(client)
    unknown = await client.post("/auth/password-reset/request", json={"email": new_email()})
    assert unknown.status_code == 202
    with caplog.at_level(logging.INFO, logger="core.mailer"):
        known = await client.post("/auth/password-reset/request", json={"email": user["email"]})
    assert known.status_code == 202 and known.json() == unknown.json()
    assert user["email"] in caplog.text
    token = reset_token_in(caplog.text)

    weak = {"token": token, "new_password": "short"}
    assert (await client.post("/auth/password-reset/confirm", json=weak)).status_code == 422
    body = {"token": token, "new_password": "a new secret 7"}
    done = await client.post("/auth/password-reset/confirm", json=body)
    assert done.status_code == 200, done.text
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401
    old = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert old.status_code == 401
    await login(client, user["email"], "a new secret 7")
    reused = await client.post("/auth/password-reset/confirm", json=body)
    assert reused.status_code == 400 and reused.json()["code"] == "invalid_reset_token"


async def test_login_throttling(settings):
    throttled = settings.model_copy(
        update={"login_max_failures": 3, "login_max_failures_per_client": 5}
    )
    with serve_in_thread(create_app(throttled)) as base_url:
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as client:
            user = await register(client)
            wrong = {"email": user["email"], "password": "wrong password 1"}
            codes = [(await client.post("/auth/login", json=wrong)).status_code for _ in range(3)]
            assert codes == [401, 401, 401]
            right = {"email": user["email"], "password": PASSWORD}
            blocked = await client.post("/auth/login", json=right)
            assert blocked.status_code == 429
            assert 0 < int(blocked.headers["Retry-After"]) <= throttled.login_failure_window_s
            assert blocked.json()["code"] == "too_many_attempts"
            # The client address has 2 failures left, whatever email it tries.
            for _ in range(2):
                miss = {"email": new_email(), "password": "wrong password 1"}
                assert (await client.post("/auth/login", json=miss)).status_code == 401
            other = await register(client)
            right = {"email": other["email"], "password": PASSWORD}
            assert (await client.post("/auth/login", json=right)).status_code == 429


async def test_profile_changes_and_their_validation(client):
    _, tokens = await signed_up(client)
    address = "So11111111111111111111111111111111111111112"
    ok = await client.patch(
        "/me",
        headers=bearer(tokens),
        json={
            "name": "Grace",
            "preferences": {"currency": "USD"},
            "notification_channels": ["in_app", "email"],
            "sol_address": address,
        },
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["sol_address"] == address and ok.json()["name"] == "Grace"
    assert (await client.get("/me", headers=bearer(tokens))).json()["preferences"] == {
        "currency": "USD"
    }
    bad = [
        ({"sol_address": "0OIl" * 9}, 422, "invalid_sol_address"),
        ({"sol_address": "1" * 33}, 422, "invalid_sol_address"),
        ({"sol_address": "abc"}, 422, "invalid_sol_address"),
        ({"notification_channels": ["pigeon"]}, 422, "invalid_notification_channel"),
        ({"name": "x" * 300}, 422, "invalid_request"),
        ({"preferences": None}, 422, "invalid_request"),
        ({"preferences": {"x": "y" * 20_000}}, 422, "invalid_request"),
        ({"email": "new@example.com"}, 422, "invalid_request"),
        ({"token_balance": "1000000"}, 422, "invalid_request"),
    ]
    for body, status, code in bad:
        response = await client.patch("/me", headers=bearer(tokens), json=body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    _, other = await signed_up(client)
    taken = await client.patch("/me", headers=bearer(other), json={"sol_address": address})
    assert taken.status_code == 409 and taken.json()["code"] == "sol_address_taken"
    cleared = await client.patch("/me", headers=bearer(tokens), json={"sol_address": None})
    assert cleared.json()["sol_address"] is None
    reclaimed = await client.patch("/me", headers=bearer(other), json={"sol_address": address})
    assert reclaimed.status_code == 200


async def test_a_referral_code_is_read_in_any_case_and_an_unknown_one_is_422(
    client, settings, sessions
):
    referrer = await register(client)
    referred = await register(client, referral_code=referrer["referral_code"].lower())
    assert Decimal(referred["token_balance"]) == settings.signup_grant  # paid at a first turn
    async with sessions() as session:
        referred_by = await session.scalar(
            select(User.referred_by).where(User.id == uuid.UUID(referred["id"]))
        )
    assert referred_by == uuid.UUID(referrer["id"])
    unknown = await client.post(
        "/auth/register",
        json={"email": new_email(), "password": PASSWORD, "referral_code": "ZZZZZZZZ"},
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_referral_code"


async def test_transactions_are_paged_newest_first_and_private(client, sessions):
    from core import ledger

    user, tokens = await signed_up(client)
    _, stranger = await signed_up(client)
    async with sessions() as session, session.begin():
        for i in range(5):
            await ledger.deduct(session, uuid.UUID(user["id"]), Decimal(1), description=f"d{i}")
    first = (await client.get("/tokens/transactions?limit=4", headers=bearer(tokens))).json()
    assert first["total"] == 6
    assert [t["description"] for t in first["items"]] == ["d4", "d3", "d2", "d1"]
    rest = await client.get("/tokens/transactions?limit=4&offset=4", headers=bearer(tokens))
    assert [t["description"] for t in rest.json()["items"]] == ["d0", "sign-up grant"]
    theirs = (await client.get("/tokens/transactions", headers=bearer(stranger))).json()
    assert [t["description"] for t in theirs["items"]] == ["sign-up grant"]
    for query in ("limit=0", "limit=101", "offset=-1", "limit=ten"):
        response = await client.get(f"/tokens/transactions?{query}", headers=bearer(tokens))
        assert response.status_code == 422 and response.json()["detail"]


async def test_pricing_lists_the_current_prices(client):
    prices = {p["service_type"]: p for p in (await client.get("/tokens/pricing")).json()}
    assert {"chat_turn", "market_search", "referral_reward", "referral_bonus"} <= set(prices)
    assert prices["chat_turn"]["token_cost"] == "0.00100000"
    assert prices["chat_turn"]["min_tokens"] == 100 and prices["chat_turn"]["description"]


async def test_concurrent_sign_ups_with_one_email(client, sessions, settings):
    body = {"email": new_email(), "password": PASSWORD}
    responses = await asyncio.gather(*(client.post("/auth/register", json=body) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    (created,) = [r.json() for r in responses if r.status_code == 201]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"email_taken"}
    async with sessions() as session:
        users = (
            await session.scalars(select(User).where(User.email == body["email"].lower()))
        ).all()
        grants = (
            await session.scalars(
                select(TokenTransaction).where(TokenTransaction.user_id == created["id"])
            )
        ).all()
    assert [str(u.id) for u in users] == [created["id"]]  # one row, the one answered 201
    assert users[0].token_balance == settings.signup_grant
    assert [(g.type, g.amount) for g in grants] == [(TransactionType.REWARD, settings.signup_grant)]


async def test_concurrent_claims_of_one_sol_address(client, sessions):
    logins = [await signed_up(client) for _ in range(4)]
    address = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
    responses = await asyncio.gather(
        *(
            client.patch("/me", headers=bearer(tokens), json={"sol_address": address})
            for _, tokens in logins
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    (claimed,) = [r.json()["id"] for r in responses if r.status_code == 200]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"sol_address_taken"}
    async with sessions() as session:
        rows = await session.execute(
            select(User.id, User.sol_address).where(User.id.in_([u["id"] for u, _ in logins]))
        )
        holders = {str(user_id): sol for user_id, sol in rows}
    assert holders == {u["id"]: address if u["id"] == claimed else None for u, _ in logins}


async def test_password_reset_requests_are_throttled_alike_for_any_email(settings):
    limited = settings.model_copy(
        update={"reset_max_requests": 2, "reset_max_requests_per_client": 4}
    )
    with serve_in_thread(create_app(limited)) as base_url:
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as client:

            async def ask(email: str) -> httpx.Response:
                return await client.post("/auth/password-reset/request", json={"email": email})

            user = await register(client)
            unknown = new_email()
            known = [(await ask(user["email"])).status_code for _ in range(3)]
            stranger = [(await ask(unknown)).status_code for _ in range(3)]
            assert known == stranger == [202, 202, 429]  # no telling who has an account
            blocked = await ask(new_email())  # the address has used its 4
            assert blocked.status_code == 429
            assert blocked.json()["code"] == "too_many_attempts"
            assert "too many password-reset requests" in blocked.json()["detail"]
            assert 0 < int(blocked.headers["Retry-After"]) <= limited.reset_request_window_s
            await login(client, user["email"], PASSWORD)  # logins are counted apart
