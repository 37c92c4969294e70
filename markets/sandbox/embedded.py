"""The sandbox started inside the server when no real market endpoints are configured.

The rule: with `sandbox_markets=auto` (the default), the sandbox stands in when no market
credential is set in the settings. It then serves every markets row whose base_url is still
the seeded default (or points at an earlier sandbox); rows an operator pointed elsewhere are
left alone. With `sandbox_url` set, that running `dealagent sandbox` is used instead of one
in-process (so several server processes share one catalog and one set of URLs)."""

import asyncio
import contextlib
import errno
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.models import Market
from core.reference_data import DEFAULT_MARKETS
from markets.sandbox.app import create_sandbox_app
from markets.sandbox.catalog import default_catalog
from markets.sandbox.credentials import sandbox_settings

SANDBOX_FLAG = "sandbox"


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the server it runs inside."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class EmbeddedSandbox:
    url: str
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


def sandbox_wanted(settings: Settings) -> bool:
    if settings.sandbox_markets == "auto":
        return not settings.market_credentials_set()
    return settings.sandbox_markets == "on"


class SandboxPortInUse(RuntimeError):
    """SANDBOX_PORT is taken: moving elsewhere would break every stored sandbox deal URL."""


def loopback_socket(port: int) -> socket.socket:
    """The sandbox's listening socket on `port` (0: any free one). SO_REUSEADDR, as uvicorn
    sets on its own sockets: a restart finds the port's closed connections still in
    TIME_WAIT, which must not keep it from listening there again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        if error.errno != errno.EADDRINUSE:
            raise
        raise SandboxPortInUse(
            f"port {port} on 127.0.0.1, where the sandbox marketplace serves (SANDBOX_PORT), "
            "is in use: stop what holds it, or set SANDBOX_PORT to a free port (0: any free "
            "port, but stored sandbox deal URLs then break at each restart), or SANDBOX_URL "
            "to a running `dealagent sandbox`"
        ) from error
    return sock


def sandbox_server(settings: Settings) -> QuietServer:
    # No log_config/log_level: uvicorn would reset the logging of the server we run inside.
    app = create_sandbox_app(settings)
    config = uvicorn.Config(app, log_config=None, log_level=None, access_log=False, lifespan="off")
    return QuietServer(config)


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


async def start_embedded(settings: Settings) -> EmbeddedSandbox:
    await asyncio.to_thread(default_catalog)  # build the catalog off the event loop
    sock = loopback_socket(settings.sandbox_port)
    server = sandbox_server(settings)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task  # raises what stopped it
            raise RuntimeError("the sandbox marketplace stopped during start-up")
        await asyncio.sleep(0.01)
    return EmbeddedSandbox(socket_url(sock), server, task)


@contextlib.contextmanager
def sandbox_in_thread(settings: Settings) -> Iterator[str]:
    """The sandbox served from a thread of a process with no event loop (the parent of
    `serve --workers N`); yields its URL, stops it on exit."""
    default_catalog()
    sock = loopback_socket(settings.sandbox_port)
    server = sandbox_server(settings)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox")
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox marketplace stopped during start-up")
            time.sleep(0.01)
        yield socket_url(sock)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


async def point_markets_at(sessions: async_sessionmaker[AsyncSession], url: str) -> None:
    defaults = [base_url for _, _, base_url, _ in DEFAULT_MARKETS]
    async with sessions() as session, session.begin():
        await session.execute(
            update(Market)
            .where(or_(Market.base_url.in_(defaults), Market.meta_data[SANDBOX_FLAG].as_boolean()))
            .values(base_url=url, meta_data=Market.meta_data.op("||")({SANDBOX_FLAG: True}))
        )


async def restore_real_markets(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Rows an earlier sandbox run pointed at itself get their seeded base_url back."""
    async with sessions() as session, session.begin():
        for _, market_type, base_url, _ in DEFAULT_MARKETS:
            await session.execute(
                update(Market)
                .where(Market.type == market_type, Market.meta_data[SANDBOX_FLAG].as_boolean())
                .values(base_url=base_url, meta_data=Market.meta_data.op("-")(SANDBOX_FLAG))
            )


async def prepare_markets(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> tuple[Settings, EmbeddedSandbox | None]:
    """Settings to search the markets with, and the in-process sandbox if one was started."""
    if not sandbox_wanted(settings):
        await restore_real_markets(sessions)
        return settings, None
    settings = sandbox_settings(settings)
    if settings.sandbox_url:
        await point_markets_at(sessions, settings.sandbox_url.rstrip("/"))
        return settings, None
    sandbox = await start_embedded(settings)
    await point_markets_at(sessions, sandbox.url)
    return settings, sandbox
