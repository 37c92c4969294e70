"""Effects of a turn as the REST API shows them afterwards: a goal, the balance, deals, a
new notification. Read before the turn what the comparison needs (balance, notifications)."""

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from converse.match import differences, substitute
from converse.script import Effects

NOTIFICATION_POLL_S = 0.25
PAGE = 100  # the API's largest page


class ApiError(Exception):
    """The server refused a request the runner made."""


async def get(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await api.get(path, params=params)
    if response.status_code != 200:
        raise ApiError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return response.json()


@dataclass(frozen=True)
class Before:
    balance: Decimal | None
    notification_ids: frozenset[str] | None


async def balance(api: httpx.AsyncClient) -> Decimal:
    return Decimal((await get(api, "/tokens/balance"))["token_balance"])


async def notifications(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The newest page of the user's notifications, newest first."""
    return (await get(api, "/notifications", limit=PAGE))["items"]


async def before(api: httpx.AsyncClient, effects: Effects) -> Before:
    return Before(
        await balance(api) if effects.balance else None,
        frozenset(n["id"] for n in await notifications(api)) if effects.notification else None,
    )


async def check(
    api: httpx.AsyncClient, effects: Effects, was: Before, variables: dict[str, str]
) -> list[str]:
    """What departs from the expected effects (empty: all of them hold)."""
    found = []
    if effects.goal is not None:
        found += await goal(api, substitute(effects.goal, variables))
    if effects.balance is not None and was.balance is not None:
        found += balance_change(effects.balance, was.balance, await balance(api))
    if effects.deals is not None:
        filters = substitute(effects.deals.filters, variables)
        listed = (await get(api, "/deals", limit=PAGE, **filters))["deals"]
        if not effects.deals.count.holds(len(listed)):
            found.append(
                f"deals {filters or ''}: expected {effects.deals.count}, found {len(listed)}"
            )
    if effects.notification is not None and was.notification_ids is not None:
        fields = substitute(effects.notification.fields, variables)
        found += await notification(
            api, fields, effects.notification.within_s, was.notification_ids
        )
    return found


async def goal(api: httpx.AsyncClient, fields: dict[str, Any]) -> list[str]:
    """A goal with these fields exists (the one with `id` when given)."""
    if "id" in fields:
        response = await api.get(f"/goals/{fields['id']}")
        if response.status_code != 200:
            return [f"goal {fields['id']}: {response.status_code} {response.text[:200]}"]
        return differences(fields, response.json(), "goal")
    goals = (await get(api, "/goals", limit=PAGE))["items"]
    if any(not differences(fields, g, "goal") for g in goals):
        return []
    nearest = [f"  {g['title']!r}: {'; '.join(differences(fields, g, 'goal'))}" for g in goals[:5]]
    return [f"goal: none of your {len(goals)} goals has {fields}", *nearest]


def balance_change(bounds: dict[str, Decimal], was: Decimal, now: Decimal) -> list[str]:
    down = was - now
    failed = {
        "down_by": down != bounds.get("down_by", down),
        "down_at_least": down < bounds.get("down_at_least", down),
        "down_at_most": down > bounds.get("down_at_most", down),
    }
    return [
        f"balance: expected {key} {bounds[key]}, it went down by {down} ({was} -> {now})"
        for key, wrong in failed.items()
        if wrong
    ]


async def notification(
    api: httpx.AsyncClient, fields: dict[str, Any], within_s: float, seen: frozenset[str]
) -> list[str]:
    """A notification not there before the turn, with these fields, comes within `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        new = [n for n in await notifications(api) if n["id"] not in seen]
        if any(not differences(fields, n, "notification") for n in new):
            return []
        if time.monotonic() >= deadline:
            arrived = [f"{n['type']}: {n['title']!r}" for n in new[:5]]
            return [
                f"notification: none with {fields} within {within_s:g} s; "
                f"new ones: {arrived or 'none'}"
            ]
        await asyncio.sleep(NOTIFICATION_POLL_S)
