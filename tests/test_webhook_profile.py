"""A user's webhook in PATCH /me: the URL must be https, short enough and lead to a public
address (checked before any transaction); a saved URL always has a secret; the webhook
channel needs a URL. Refusals are 422 and leave the row as it was."""

import httpx
import pytest

from api.main import create_app
from core.models import User
from markets.webhook import post_webhook
from tests.accounts_client import bearer, signed_up
from tests.live_server import serve_in_thread
from tests.webhook_receiver import Receiver

PUBLIC_URL = "https://1.1.1.1/hooks/deals"  # an address literal: public, and no DNS needed


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=f"{live_server}/api/v1", timeout=30) as client:
        yield client


async def saved(sessions, user_id: str) -> tuple:
    async with sessions() as session:
        user = await session.get_one(User, user_id)
        return user.name, user.preferences, user.notification_channels


async def test_a_saved_webhook_url_gets_a_secret_its_owner_sees(client):
    _, tokens = await signed_up(client)
    body = {"preferences": {"webhook_url": PUBLIC_URL}, "notification_channels": ["webhook"]}
    response = await client.patch("/me", headers=bearer(tokens), json=body)
    assert response.status_code == 200, response.text
    secret = response.json()["preferences"]["webhook_secret"]
    assert len(secret) >= 43  # secrets.token_urlsafe(32)
    me = (await client.get("/me", headers=bearer(tokens))).json()
    assert me["preferences"] == {"webhook_url": PUBLIC_URL, "webhook_secret": secret}
    assert me["notification_channels"] == ["webhook"]

    # Preferences sent again without the secret keep it: the receiver still checks with it.
    again = {"preferences": {"webhook_url": PUBLIC_URL + "/v2", "currency": "USD"}}
    kept = await client.patch("/me", headers=bearer(tokens), json=again)
    assert kept.json()["preferences"]["webhook_secret"] == secret
    chosen = {"preferences": {"webhook_url": PUBLIC_URL, "webhook_secret": "my own secret"}}
    mine = await client.patch("/me", headers=bearer(tokens), json=chosen)
    assert mine.json()["preferences"]["webhook_secret"] == "my own secret"


@pytest.mark.parametrize(
    ("preferences", "code", "needle"),
    [
        ({"webhook_url": "http://1.1.1.1/hook"}, "invalid_webhook_url", "https"),
        ({"webhook_url": "https://10.1.2.3/hook"}, "invalid_webhook_url", "not a public"),
        ({"webhook_url": "https://192.168.0.10/h"}, "invalid_webhook_url", "not a public"),
        ({"webhook_url": "https://localhost/hook"}, "invalid_webhook_url", "not a public"),
        ({"webhook_url": PUBLIC_URL + "/" + "a" * 2000}, "invalid_webhook_url", "2000"),
        ({"webhook_url": ""}, "invalid_webhook_url", "https"),
        ({"webhook_url": "https://1.1.1.1/a\nb"}, "invalid_webhook_url", "not a URL"),
        ({"webhook_url": None}, "invalid_webhook_url", "string"),
        ({"webhook_url": PUBLIC_URL, "webhook_secret": ""}, "invalid_webhook_secret", "1 to"),
        ({"currency": "EUR"}, "webhook_url_required", "notification_channels"),
    ],
)
async def test_bad_webhook_settings_are_422_and_change_nothing(
    client, sessions, preferences, code, needle
):
    user, tokens = await signed_up(client)
    before = {"name": "Before", "preferences": {"webhook_url": PUBLIC_URL}}
    before["notification_channels"] = ["in_app", "webhook"]
    assert (await client.patch("/me", headers=bearer(tokens), json=before)).status_code == 200
    row = await saved(sessions, user["id"])

    body = {"name": "Changed", "preferences": preferences}
    response = await client.patch("/me", headers=bearer(tokens), json=body)
    assert response.status_code == 422
    assert response.json()["code"] == code
    field = "notification_channels" if code == "webhook_url_required" else "preferences.webhook_"
    assert response.json()["detail"].startswith(field)
    assert needle in response.json()["detail"]
    assert await saved(sessions, user["id"]) == row


async def test_the_webhook_channel_without_a_url_is_422(client, sessions):
    user, tokens = await signed_up(client)
    row = await saved(sessions, user["id"])
    body = {"name": "Changed", "notification_channels": ["in_app", "webhook"]}
    response = await client.patch("/me", headers=bearer(tokens), json=body)
    assert (response.status_code, response.json()["code"]) == (422, "webhook_url_required")
    assert "preferences.webhook_url" in response.json()["detail"]
    assert await saved(sessions, user["id"]) == row


async def test_with_private_hosts_allowed_a_saved_webhook_is_delivered(settings):
    """WEBHOOK_PRIVATE_HOSTS: a loopback http receiver can be saved, and the secret shown
    to the owner is the one the delivery is signed with."""
    receiver = Receiver(secret="unknown yet")
    allowing = settings.model_copy(update={"webhook_private_hosts": True})
    with serve_in_thread(receiver.app) as hooks, serve_in_thread(create_app(allowing)) as app:
        async with httpx.AsyncClient(base_url=f"{app}/api/v1", timeout=30) as client:
            _, tokens = await signed_up(client)
            body = {"preferences": {"webhook_url": f"{hooks}/hook/ok"}}
            profile = (await client.patch("/me", headers=bearer(tokens), json=body)).json()
            url = profile["preferences"]["webhook_url"]
            receiver.secret = profile["preferences"]["webhook_secret"]
            async with httpx.AsyncClient() as http:
                payload = {"type": "deal", "title": "A deal"}
                await post_webhook(
                    http, url, receiver.secret, payload, timeout_s=5, allow_private=True
                )
    [delivery] = receiver.deliveries
    assert delivery.verified and delivery.headers["x-dealagent-event"] == "deal"
