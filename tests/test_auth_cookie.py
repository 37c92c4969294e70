"""The browser's refresh token: an HttpOnly, SameSite=Strict cookie for /api/v1/auth,
rotated on every refresh, reuse revoking the login, cleared by logout; the JSON refresh
of programs unchanged."""

import httpx
import pytest

from tests.accounts_client import PASSWORD, bearer, login, register

COOKIE = "dealagent_refresh"


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=f"{live_server}/api/v1", timeout=30) as client:
        yield client


async def cookie_login(client: httpx.AsyncClient) -> tuple[dict, str]:
    user = await register(client)
    response = await client.post(
        "/auth/login", json={"email": user["email"], "password": PASSWORD, "refresh_cookie": True}
    )
    assert response.status_code == 200, response.text
    return response.json(), response.headers["set-cookie"]


async def test_login_puts_the_refresh_token_in_a_strict_http_only_cookie(client):
    tokens, set_cookie = await cookie_login(client)
    assert tokens["refresh_token"] is None and tokens["access_token"]
    attributes = {part.strip().lower() for part in set_cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/api/v1/auth"} <= attributes
    assert "secure" not in attributes  # plain http here; https pages get Secure
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200


async def test_refresh_from_the_cookie_rotates_it_and_reuse_revokes_the_login(client):
    await cookie_login(client)
    spent = client.cookies[COOKIE]
    renewed = await client.post("/auth/refresh")
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] is None
    assert client.cookies[COOKIE] != spent
    fresh = renewed.json()["access_token"]
    assert (await client.get("/me", headers={"Authorization": f"Bearer {fresh}"})).is_success

    async with httpx.AsyncClient(base_url=client.base_url, cookies={COOKIE: spent}) as thief:
        replayed = await thief.post("/auth/refresh")
    assert replayed.status_code == 401 and replayed.json()["code"] == "token_reused"
    again = await client.get("/me", headers={"Authorization": f"Bearer {fresh}"})
    assert again.status_code == 401  # the whole login is revoked


async def test_refresh_without_body_or_cookie_says_what_to_send(client):
    response = await client.post("/auth/refresh")
    assert response.status_code == 401
    assert response.json()["code"] == "missing_token"
    assert "refresh cookie" in response.json()["detail"]


async def test_logout_clears_the_cookie_and_json_refresh_still_works(client):
    tokens, _ = await cookie_login(client)
    out = await client.post("/auth/logout", headers=bearer(tokens))
    assert out.status_code == 204
    assert f'{COOKIE}=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    assert COOKIE not in client.cookies

    user = await register(client)
    pair = await login(client, user["email"])  # programs: both tokens in the body
    assert pair["refresh_token"]
    renewed = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["refresh_token"]
