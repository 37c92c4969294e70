"""Signing up and logging in over HTTP, for any test that needs an authenticated user."""

import uuid

import httpx

PASSWORD = "correct horse 42"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@Example.com"


async def register(client: httpx.AsyncClient, **extra) -> dict:
    body = {"email": new_email(), "password": PASSWORD, **extra}
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    assert not {"password", "token"} & set(response.json())
    return response.json()


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra) -> dict:
    body = {"email": email, "password": password, **extra}
    response = await client.post("/auth/login", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def signed_up(client: httpx.AsyncClient) -> tuple[dict, dict]:
    """A new user's profile and the tokens of a full-scope login."""
    user = await register(client)
    return user, await login(client, user["email"])
