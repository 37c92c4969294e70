"""OAuth 2.0 client-credentials tokens (eBay's application token, Amazon's Creators API
token), each cached per (token URL, client id) until shortly before it expires."""

import time
from dataclasses import dataclass

import httpx

from markets.base import MarketError, read_json

EXPIRY_MARGIN_S = 60  # renew a little before the market would refuse the token


@dataclass
class CachedToken:
    value: str
    expires_at: float  # time.monotonic()


# Shared by every search in the process.
_tokens: dict[tuple[str, str], CachedToken] = {}


async def client_token(
    http: httpx.AsyncClient, token_url: str, client_id: str, secret: str, scope: str
) -> str:
    """A token from the cache, or a new one: a form POST with HTTP Basic client auth."""
    key = (token_url, client_id)
    cached = _tokens.get(key)
    if cached and cached.expires_at > time.monotonic():
        return cached.value
    response = await http.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )
    data = read_json(response)
    if not isinstance(data, dict) or "access_token" not in data:
        raise MarketError(f"token refused by {token_url}: {str(data)[:200]}")
    lifetime = float(data.get("expires_in", 3600)) - EXPIRY_MARGIN_S
    _tokens[key] = CachedToken(data["access_token"], time.monotonic() + lifetime)
    return data["access_token"]


def forget(token_url: str, client_id: str) -> None:
    """Drop a token the market refused before its time (revoked): fetch anew next time."""
    _tokens.pop((token_url, client_id), None)
