"""Helpers for the markets tests: a private database (these tests move markets rows
around), the sandbox under a real uvicorn, and users with goals."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from core.config import Settings
from core.models import Goal, Market, User
from core.models.enums import MarketCategory, MarketStatus
from markets.sandbox.app import create_sandbox_app
from markets.sandbox.credentials import sandbox_settings
from tests.live_server import serve_in_thread


def market_settings(settings: Settings, **changes: object) -> Settings:
    """The session's settings with the sandbox credentials and short market timeouts."""
    return sandbox_settings(settings).model_copy(update={"market_timeout_s": 2.0, **changes})


@contextmanager
def running_sandbox(settings: Settings) -> Iterator[str]:
    with serve_in_thread(create_sandbox_app(sandbox_settings(settings))) as url:
        yield url


async def reset_markets(sessions: async_sessionmaker[AsyncSession], sandbox_url: str) -> None:
    """Every market healthy, unlimited, pointed at the sandbox."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(Market).values(
                base_url=sandbox_url,
                status=MarketStatus.ACTIVE,
                rate_limit=None,
                rate_limit_window=None,
                current_rate=0,
                last_rate_reset=None,
                error_count=0,
                last_error=None,
                last_error_at=None,
            )
        )
    await admin(sandbox_url, "DELETE", "faults")


async def admin(sandbox_url: str, method: str, path: str, body: object = None) -> dict:
    """Call the sandbox's admin API; returns its state."""
    async with httpx.AsyncClient() as http:
        response = await http.request(method, f"{sandbox_url}/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()


async def set_fault(sandbox_url: str, market: str, mode: str, delay_s: float = 0) -> None:
    await admin(sandbox_url, "POST", "faults", {"market": market, "mode": mode, "delay_s": delay_s})


async def set_day(sandbox_url: str, day: str | None) -> None:
    await admin(sandbox_url, "POST", "clock", {"date": day})


async def make_user_goal(
    sessions: async_sessionmaker[AsyncSession],
    *,
    category: MarketCategory = MarketCategory.ELECTRONICS,
    max_budget: Decimal | None = None,
) -> tuple[User, Goal]:
    async with sessions() as session, session.begin():
        user = User(email=f"{uuid.uuid4().hex[:10]}@example.com", password="x")
        session.add(user)
        await session.flush()
        goal = Goal(user_id=user.id, title="a 4k monitor", category=category, max_budget=max_budget)
        session.add(goal)
        await session.flush()
    return user, goal


DATA = Path(__file__).parent / "data"


@contextmanager
def serving_fixture_pages() -> Iterator[str]:
    """tests/data/*.html on a local server: small pages we wrote ourselves, one per kind of
    markup (JSON-LD, microdata, OpenGraph, no product), not saved from a real shop (those
    are under tests/pages/)."""
    app = Starlette()
    app.mount("/", StaticFiles(directory=DATA))
    with serve_in_thread(app) as url:
        yield url
