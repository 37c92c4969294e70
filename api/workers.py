"""`dealagent serve --workers N`: N uvicorn worker processes share one port.

What there must be one of stays in this parent process: the embedded PostgreSQL (when no
DATABASE_URL is set), the sandbox marketplace (when it stands in and no SANDBOX_URL is
set) and the generated auth signing secret (when no AUTH_SECRET is set). The workers are
spawned with their addresses in the environment, so each one runs the app exactly as a
lone server does against a shared database and sandbox.
"""

import logging
import os
import signal
from contextlib import ExitStack

import uvicorn

from api.ws_protocol import uvicorn_ws_options
from core.auth import signing_secret
from core.config import Settings
from core.database import prepare_database, run_with_engine
from core.embedded_db import database_url
from markets.sandbox.credentials import sandbox_settings
from markets.sandbox.embedded import sandbox_in_thread, sandbox_wanted
from monitor.runner import monitor_in_thread

log = logging.getLogger(__name__)


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    # Until uvicorn installs its own handlers, SIGTERM unwinds start-up as Ctrl-C does,
    # so a half-started embedded PostgreSQL is still stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with ExitStack() as owned:
        url = owned.enter_context(database_url(settings, supervise=True))
        # Migrate here, once: a broken migration fails before any worker starts.
        run_with_engine(settings, url, lambda engine: prepare_database(engine, url))
        os.environ["DATABASE_URL"] = url  # the spawned workers' settings come from here
        if sandbox_wanted(settings) and not settings.sandbox_url:
            sandbox = sandbox_in_thread(sandbox_settings(settings))
            os.environ["SANDBOX_URL"] = owned.enter_context(sandbox)
            log.info("sandbox marketplace for the workers at %s", os.environ["SANDBOX_URL"])
        if settings.monitor_in_process:  # one monitor here, none in the N workers
            shared = {"sandbox_url": os.environ.get("SANDBOX_URL", settings.sandbox_url)}
            owned.enter_context(monitor_in_thread(settings.model_copy(update=shared), url))
            os.environ["MONITOR_IN_PROCESS"] = "false"
        # Made here, before any worker starts, so the workers only ever read it.
        signing_secret(settings)
        # Returns once SIGTERM/SIGINT has stopped every worker; then the ExitStack stops
        # the monitor, the sandbox and the embedded PostgreSQL.
        uvicorn.run(
            "api.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            **uvicorn_ws_options(settings),
        )
