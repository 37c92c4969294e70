"""With no market configuration the server starts the sandbox in-process and points the
markets rows at it; with credentials it puts the rows back. `dealagent sandbox` runs it alone."""

import asyncio
import socket
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import select

from api.main import create_app
from core.models import Market
from core.models.enums import MarketType
from core.reference_data import DEFAULT_MARKETS
from markets.adapters import adapter_for
from markets.base import Endpoint, MarketQuery
from markets.search import SearchRequest, search
from tests.live_server import serve_in_thread
from tests.markets_support import market_settings


@pytest.fixture(scope="module")
def sessions(module_db):
    return module_db.sessions


@pytest.fixture(scope="module")
def database(module_db):
    return module_db.url


async def rows(sessions) -> dict[MarketType, Market]:
    async with sessions() as session:
        return {m.type: m for m in await session.scalars(select(Market))}


async def test_the_server_starts_the_sandbox_and_points_the_markets_at_it(
    settings, database, sessions
):
    app_settings = settings.model_copy(update={"database_url": database, "sandbox_port": 0})
    app = create_app(app_settings)
    with serve_in_thread(app) as base_url:
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{base_url}/healthz")).status_code == 200
            markets = await rows(sessions)
            sandbox_url = markets[MarketType.AMAZON].base_url
            assert sandbox_url.startswith("http://127.0.0.1:")
            assert {m.base_url for m in markets.values()} == {sandbox_url}
            assert all(m.meta_data.get("sandbox") for m in markets.values())
            assert app.state.settings.amazon_access_key  # the sandbox's credentials
            result = await search(
                sessions,
                http,
                SearchRequest("4k monitor"),
                settings=market_settings(app_settings),
            )
            assert {r.status for r in result.market_reports} == {"ok"}
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):  # stopped with the server
            await http.get(f"{sandbox_url}/_sandbox/state")

    real = app_settings.model_copy(update={"bestbuy_api_key": "a-real-key"})
    with serve_in_thread(create_app(real)):
        markets = await rows(sessions)
    defaults = {market_type: url for _, market_type, url, _ in DEFAULT_MARKETS}
    assert {t: m.base_url for t, m in markets.items()} == defaults
    assert not any(m.meta_data.get("sandbox") for m in markets.values())


async def test_dealagent_sandbox_runs_it_alone(settings, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.cli",
        "sandbox",
        "--port",
        str(port),
        env={"DEALAGENT_HOME": str(settings.home), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    state = (await http.get(f"http://127.0.0.1:{port}/_sandbox/state")).json()
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert state["faults"] == {}
            creds = market_settings(settings)
            walmart = Endpoint(f"http://127.0.0.1:{port}", DEFAULT_MARKETS[1][3])
            offers = await adapter_for(MarketType.WALMART, creds).search(
                http, walmart, MarketQuery("laptop")
            )
            assert offers  # same RSA key under DEALAGENT_HOME: the signature verifies
    finally:
        proc.terminate()
        await proc.wait()
