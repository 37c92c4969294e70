"""Webhooks: one signed POST of a notification to the URL a user saved.

The receiver checks `X-Dealagent-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed
by the user's webhook secret>`; `X-Dealagent-Event` names the notification type. Like
track_product_url, only public addresses are reached, and the connection goes to the
address that passed the check (the name kept as Host and SNI), so a name resolving
differently the second time cannot lead inside this network."""

import asyncio
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.plain import plain_scalar
from markets.base import MarketError
from markets.product_page import ForbiddenAddress, pinned, public_address

SIGNATURE_HEADER = "X-Dealagent-Signature"
EVENT_HEADER = "X-Dealagent-Event"
MAX_URL_CHARS = 2000
# Worth trying again later: the receiver or the way to it may recover.
TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class WebhookFailed(Exception):
    """A webhook not delivered (no 2xx answer); `retryable`: trying later may succeed."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def sign(secret: str, body: bytes) -> str:
    """The X-Dealagent-Signature value for `body`: "sha256=" and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """What makes `url` unfit for a webhook by its form alone, or None."""
    if len(url) > MAX_URL_CHARS:
        return f"must be at most {MAX_URL_CHARS} characters"
    try:
        httpx.URL(url)  # what the client would refuse later (control characters, say)
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number in range raises here
    except (httpx.InvalidURL, ValueError) as error:
        return f"is not a URL ({error})"
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        return "must be an https:// URL"
    if not parts.hostname:
        return "has no host name"
    return None


async def checked_address(url: str, *, allow_private: bool) -> str | None:
    """The address to connect to for `url` (None: by name, when private hosts are allowed).
    Raises WebhookFailed for a URL of the wrong form or leading inside this network."""
    if problem := url_problem(url, allow_private=allow_private):
        raise WebhookFailed(problem, retryable=False)
    try:
        return await public_address(url, frozenset(), allow_private)
    except ForbiddenAddress as error:
        raise WebhookFailed(str(error), retryable=False) from error
    except MarketError as error:  # the name did not resolve; DNS may answer later
        raise WebhookFailed(str(error), retryable=True) from error


async def check_url(url: str, *, allow_private: bool, timeout_s: float) -> None:
    """Refuse (WebhookFailed) a URL no webhook could be delivered to; resolves the host,
    so never call it inside a database transaction."""
    try:
        async with asyncio.timeout(timeout_s):
            await checked_address(url, allow_private=allow_private)
    except TimeoutError:
        raise WebhookFailed(f"no address within {timeout_s:g} s", retryable=True) from None


async def post_webhook(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    payload: dict[str, Any],
    *,
    timeout_s: float,
    allow_private: bool,
) -> None:
    """POST `payload` (its "type" names the event) to `url` as compact UTF-8 JSON, signed
    with `secret`. Resolving, connecting, sending and the answer share one deadline of
    `timeout_s`; redirects are not followed. Anything but a 2xx raises WebhookFailed."""
    event = payload.get("type")
    if not isinstance(event, str) or not event:
        raise ValueError('the payload needs a "type" naming the notification type')
    body = json.dumps(
        payload, separators=(",", ":"), ensure_ascii=False, default=plain_scalar
    ).encode()
    headers = {"Content-Type": "application/json", EVENT_HEADER: event}
    headers[SIGNATURE_HEADER] = sign(secret, body)
    try:
        async with asyncio.timeout(timeout_s):
            address = await checked_address(url, allow_private=allow_private)
            target, host, extensions = pinned(url, address) if address else (url, {}, {})
            async with http.stream(
                "POST",
                target,
                content=body,
                headers={**headers, **host},
                extensions=extensions,
                follow_redirects=False,
                timeout=timeout_s,
            ) as response:  # the answer's body is not read: its status is all that counts
                status = response.status_code
    except TimeoutError:
        raise WebhookFailed(f"no answer within {timeout_s:g} s", retryable=True) from None
    except TRANSIENT as error:
        raise WebhookFailed(f"{type(error).__name__}: {error}", retryable=True) from error
    except httpx.HTTPError as error:
        raise WebhookFailed(f"{type(error).__name__}: {error}", retryable=False) from error
    if not 200 <= status < 300:
        raise WebhookFailed(f"HTTP {status}", retryable=status >= 500 or status == 429)
