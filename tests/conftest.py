"""Shared fixtures: a real PostgreSQL (DATABASE_URL, or an embedded throwaway one),
a migrated database for the session, and the app under a real uvicorn."""

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.main import create_app
from api.ws_protocol import uvicorn_ws_options
from core import migrate
from core.config import Settings
from core.database import seed
from core.db import create_engine, session_factory
from core.embedded_db import drop_database, ensure_database, start_embedded
from tests import conversation_items
from tests.live_server import serve_in_thread
from tests.serve_process import scratch_home


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    """tests/conversations/*.yaml: one test per conversation script."""
    return conversation_items.collect(file_path, parent)


@pytest.fixture
def home() -> Iterator[Path]:
    """A DEALAGENT_HOME for a `dealagent serve` child process (see scratch_home)."""
    with scratch_home() as scratch:
        yield scratch


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server: DATABASE_URL's, or an embedded one deleted after the run."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="dealagent-pg-") as scratch:
        server = start_embedded(Path(scratch) / "data", throwaway=True)
        yield server.get_uri()
        server.cleanup()


@pytest.fixture(scope="session")
def make_database(server_url: str) -> Iterator:
    """Factory of empty scratch databases on the server, all dropped at the end."""
    names: list[str] = []

    def make() -> str:
        name = f"dealagent_test_{uuid.uuid4().hex[:12]}"
        names.append(name)
        return ensure_database(server_url, name)

    yield make
    for name in names:
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    url = make_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        dealagent_home=Path(tmp_path_factory.mktemp("home")),
        db_pool_min=1,
        db_retry_delay_s=0.05,
        monitor_in_process=False,  # tests that want the monitor start their own
        register_max_per_client=100_000,  # every test signs up from 127.0.0.1
        sandbox_port=0,  # any free port: several runs share this machine
        _env_file=None,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings, database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, database_url)
    await seed(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine, settings: Settings) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine, settings)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[str]:
    """Base URL of the whole app under a real uvicorn, on the session's database."""
    with serve_in_thread(create_app(settings)) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def strict_server(settings: Settings) -> Iterator[str]:
    """A second app process on the same database, configured like `dealagent serve` (uvicorn's
    WebSocket frame limit and pings) with a short auth timeout and a low chat rate limit."""
    strict = settings.model_copy(
        update={
            "chat_auth_timeout_s": 0.5,
            "chat_rate_limit": 3,
            "ws_ping_interval_s": 0.5,
            "ws_ping_timeout_s": 0.5,
        }
    )
    with serve_in_thread(create_app(strict), **uvicorn_ws_options(strict)) as base_url:
        yield base_url


@dataclass(frozen=True)
class PrivateDatabase:
    url: str
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
async def module_db(make_database, settings: Settings) -> AsyncIterator[PrivateDatabase]:
    """A migrated, seeded database of the test module's own, for tests that change rows
    every app start shares (the markets rows, for one)."""
    url = make_database()
    migrate.upgrade(url)
    engine = create_engine(settings, url)
    await seed(engine)
    yield PrivateDatabase(url, session_factory(engine, settings))
    await engine.dispose()
