"""A webhook receiver for the tests, run under a real uvicorn: it checks every delivery's
signature with its own HMAC over the raw body it got, and answers as its path says."""

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tests.live_server import serve_in_thread

STATUS = {"ok": 204, "fail": 500, "bad": 400, "busy": 429}
SILENT_S = 10.0  # how long /hook/silent keeps a caller waiting (unless it hangs up)


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified: bool
    path: str = ""


class Receiver:
    """POST /hook/{ok|fail|bad|busy|flaky|moved|silent}; a wrong signature is answered 401."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self.url = ""  # its base URL, once served
        self.app = Starlette(routes=[Route("/hook/{mode}", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        given = request.headers.get("x-dealagent-signature", "")
        verified = hmac.compare_digest(given, f"sha256={digest}")
        self.deliveries.append(Delivery(dict(request.headers), body, verified, request.url.path))
        mode = request.path_params["mode"]
        if not verified:
            return Response("bad signature", status_code=401)
        if mode == "flaky":  # the first two deliveries fail
            failed = sum(1 for d in self.deliveries if d.path == "/hook/flaky") <= 2
            return Response(status_code=500 if failed else 204)
        if mode == "moved":
            return RedirectResponse("/hook/ok", status_code=307)
        if mode == "silent":
            await hang_on(request, SILENT_S)
        return Response(status_code=STATUS.get(mode, 204))


async def hang_on(request: Request, seconds: float) -> None:
    """Answer nothing for `seconds`, or until the caller hangs up (so shutdown is quick)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await request.receive()  # the body was read: the next message is the hang-up


@contextlib.contextmanager
def serving_receiver(secret: str) -> Iterator[Receiver]:
    """A Receiver under a real uvicorn on a free port, its `url` set."""
    receiver = Receiver(secret)
    with serve_in_thread(receiver.app) as url:
        receiver.url = url
        yield receiver
