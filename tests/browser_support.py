"""For the browser tests: one `dealagent serve` process (on the test module's database,
its sandbox on a known port, another origin allowed to embed the widget), Debian's
Chromium driven by Playwright, a page of another origin, and screenshots."""

import asyncio
import http.server
import inspect
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Page

from tests.serve_process import start_serve, stop_serve, wait_for_health

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "a long passphrase 1"


@dataclass
class Site:
    """The serve process and what the tests need to steer it."""

    home: Path
    port: int
    env: dict[str, str]
    proc: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.env['SANDBOX_PORT']}"

    def start(self) -> None:
        self.proc = start_serve(self.home, self.port, env=self.env)
        wait_for_health(f"{self.url}/healthz", self.proc)

    def stop(self) -> str:
        return stop_serve(self.proc, self.home)


@contextmanager
def embedding_page(widget_server: str, port: int) -> Iterator[str]:
    """A page of another origin (another port) that embeds the widget, as a shop would."""
    html = (
        "<!doctype html><html><head><title>A shop</title></head><body><h1>A shop</h1>"
        f'<script src="{widget_server}/widget.js" data-server="{widget_server}"></script>'
        "</body></html>"
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Frames:
    """Every chat frame the page received, in order (parsed)."""

    seen: list[dict[str, Any]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_socket(ws: Any) -> None:
            ws.on("framereceived", lambda payload: self.seen.append(json.loads(payload)))

        page.on("websocket", on_socket)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.seen if f.get("type") == kind]


async def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


async def balance_shown(page: Page) -> str:
    return (await page.locator("#balance-value").text_content() or "").strip()


async def eventually(probe: Any, wait_s: float = 20) -> Any:
    """Polls a probe (a function, async or not) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {value!r} after {wait_s} s")
        await asyncio.sleep(0.2)


class CuttableLink:
    """A TCP relay in front of the server: the page is loaded through it, and `cut()` drops
    every connection at once, as a server or a network going away does (the socket closes
    with no close frame)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.close()
            return
        self.writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
            self.writers.discard(writer)

    def cut(self) -> int:
        """Drops every open connection; how many there were."""
        cut = len(self.writers)
        for writer in list(self.writers):
            writer.transport.abort()
        return cut

    async def stop(self) -> None:
        self.cut()
        if self.server:
            self.server.close()
            await self.server.wait_closed()
