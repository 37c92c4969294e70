"""A shop whose product pages never finish: `/dribble/…` sends its headers, then one byte
every `gap_s`; `/silent/…` sends nothing at all. It counts the requests it has begun, so
tests wait for "every fetch is in flight" instead of sleeping."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.live_server import serve_in_thread


@dataclass
class SlowShop:
    url: str
    begun: list[str] = field(default_factory=list)  # paths, appended from the server thread


@contextmanager
def slow_shop(gap_s: float = 2.0, bytes_sent: int = 60) -> Iterator[SlowShop]:
    shop = SlowShop("")

    async def dribble(request: Request) -> Response:
        shop.begun.append(request.url.path)

        async def body() -> AsyncIterator[bytes]:
            for _ in range(bytes_sent):
                yield b" "
                await asyncio.sleep(gap_s)

        return StreamingResponse(body(), media_type="text/html")

    async def silent(request: Request) -> Response:
        shop.begun.append(request.url.path)
        while (await request.receive())["type"] != "http.disconnect":
            pass  # the request's (empty) body; then nothing until the client gives up
        return Response(status_code=204)

    app = Starlette(routes=[Route("/dribble/{n}", dribble), Route("/silent/{n}", silent)])
    with serve_in_thread(app) as url:
        shop.url = url
        yield shop
