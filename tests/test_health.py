"""/healthz answers within its bound when the database hangs, and says only that it is
unreachable (the driver's error, socket path and all, goes to the log)."""

import logging
import time

import httpx
import psycopg
import pytest

from api.main import create_app
from api.routes.health import CHECK_TIMEOUT_S
from core.db import libpq_url
from tests.live_server import serve_in_thread

DEGRADED = {"status": "degraded", "database": "unreachable"}


@pytest.fixture(scope="module")
def app_url(module_db, settings):
    app_settings = settings.model_copy(update={"database_url": module_db.url, "sandbox_port": 0})
    with serve_in_thread(create_app(app_settings)) as url:
        yield url


async def test_a_hung_database_is_degraded_within_the_bound(app_url, module_db, caplog):
    """A lock the check's read waits on really hangs it (until statement_timeout, 30 s)."""
    async with httpx.AsyncClient(base_url=app_url) as http:
        assert (await http.get("/healthz")).status_code == 200
        async with await psycopg.AsyncConnection.connect(libpq_url(module_db.url)) as locker:
            await locker.execute("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with caplog.at_level(logging.WARNING, logger="api.routes.health"):
                response = await http.get("/healthz", timeout=10)
            took = time.monotonic() - started
            await locker.rollback()
        assert (response.status_code, response.json()) == (503, DEGRADED)
        assert CHECK_TIMEOUT_S <= took < CHECK_TIMEOUT_S + 1.5
        assert "database unreachable" in caplog.text
        assert (await http.get("/healthz")).status_code == 200
