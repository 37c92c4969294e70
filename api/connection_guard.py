"""The guards uvicorn lacks, on its HTTP/1.1 protocol (h11, which also bounds the size of a
request's headers): a deadline on every request, and a bound on the connections a process
keeps open.

- A connection must send a complete request (headers and body), or its WebSocket
  handshake, within `request_timeout_s` of connecting or of its previous response; else
  it is answered 408 and closed. uvicorn itself waits forever for a first request, and
  for the rest of one begun after a keep-alive pause.
- Past `max_connections` open connections (WebSockets included), a new connection is
  served /healthz only, with a short deadline and closed after one answer; everything
  else is answered 503 `server_busy`. Open connections and sockets carry on.
"""

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.limit_log import LimitLog
from api.problems import MEDIA_TYPE, encoded

log = logging.getLogger(__name__)
limits_hit = LimitLog(log)

HEALTH_PATH = "/healthz"
# An over-limit connection is worth only a quick question: probes ask at once.
OVER_LIMIT_REQUEST_S = 2.0
TIMEOUT_BODY = encoded(408, "request_timeout", "no complete request arrived in time")
REQUEST_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(TIMEOUT_BODY), TIMEOUT_BODY)
)
BUSY_BODY = encoded(503, "server_busy", "the server is at its connection limit; try again")


@dataclass(frozen=True)
class ConnectionLimits:
    request_timeout_s: float
    max_connections: int


def guarded_protocol(limits: ConnectionLimits) -> functools.partial[H11Protocol]:
    """uvicorn's `http` option (a partial, not a class made here: `serve --workers` pickles
    its configuration for the worker processes)."""
    return functools.partial(GuardedH11Protocol, limits=limits)


class GuardedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._deadline: asyncio.TimerHandle | None = None
        self._answered: object = None  # the last cycle before the request awaited
        self._over_limit = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > self._limits.max_connections:
            self._over_limit = True
            self.app = health_only(self.app)
            limits_hit.hit(
                "MAX_CONNECTIONS",
                "connection limit reached: %d open, MAX_CONNECTIONS is %d; new connections "
                "get /healthz only, the rest 503",
                len(self.connections),
                self._limits.max_connections,
            )
            self._arm(min(OVER_LIMIT_REQUEST_S, self._limits.request_timeout_s))
        else:
            self._arm(self._limits.request_timeout_s)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        cycle = self.cycle
        if self.transport.is_closing() or (
            cycle is not self._answered and cycle is not None and not cycle.more_body
        ):
            self._disarm()  # the whole request is in: the app's time now

    def on_response_complete(self) -> None:
        answered = self.cycle
        super().on_response_complete()  # may begin a pipelined request's cycle
        if not self.transport.is_closing() and self.cycle is answered:
            self._arm(self._limits.request_timeout_s)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()  # the socket's own guards take over (auth timeout, pings)
        if self._over_limit:
            self._refuse_upgrade()
            return
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, timeout_s: float) -> None:
        self._disarm()
        self._answered = self.cycle
        self._deadline = self.loop.call_later(timeout_s, self._expire, timeout_s)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, timeout_s: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        client = self.client[0] if self.client else "?"
        limits_hit.hit(
            "HTTP_REQUEST_TIMEOUT_S",
            "closed a connection from %s: no complete request within %g s",
            client,
            timeout_s,
        )
        if self.cycle is self._answered:  # nothing begun: say why before closing
            self.transport.write(REQUEST_TIMEOUT_ANSWER)
        self.transport.close()  # a request begun: its app sees the client gone

    def _refuse_upgrade(self) -> None:
        response = h11.Response(
            status_code=503, headers=busy_headers(), reason=b"Service Unavailable"
        )
        self.transport.write(self.conn.send(response))
        self.transport.write(self.conn.send(h11.Data(data=BUSY_BODY)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()


def busy_headers() -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(BUSY_BODY)).encode()),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]


def health_only(app: ASGIApp) -> ASGIApp:
    """The app as an over-limit connection sees it: /healthz, then the connection closes."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == HEALTH_PATH:
            await app(scope, receive, closing(send))
            return
        await send({"type": "http.response.start", "status": 503, "headers": busy_headers()})
        await send({"type": "http.response.body", "body": BUSY_BODY})

    return serve


def closing(send: Send) -> Send:
    async def send_closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"connection", b"close")]
            message = {**message, "headers": headers}
        await send(message)

    return send_closing
