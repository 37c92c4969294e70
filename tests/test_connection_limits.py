"""Connections that would exhaust the server: silent or half-sent requests are cut at the
request deadline; past MAX_CONNECTIONS only /healthz is served; one address may keep only
MAX_UNAUTHENTICATED_PER_CLIENT chat sockets waiting to authenticate. Meanwhile /healthz and
the sockets already open keep working. Real uvicorn and raw sockets on loopback."""

import asyncio
import logging
import time
from contextlib import AsyncExitStack

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from api import connection_guard
from api.limit_log import LimitLog
from api.main import create_app
from api.routes import chat_ws
from api.ws_protocol import uvicorn_ws_options
from tests.chat_accounts import make_user
from tests.chat_client import close_code, open_chat, ready_chat, recv, send
from tests.live_server import serve_in_thread

REQUEST_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 12
MAX_WAITING = 3


@pytest.fixture(scope="module")
def guarded(settings):
    """The app as `serve` runs it (uvicorn_ws_options), with small limits."""
    limited = settings.model_copy(
        update={
            "http_request_timeout_s": REQUEST_TIMEOUT_S,
            "max_connections": MAX_CONNECTIONS,
            "max_unauthenticated_per_client": MAX_WAITING,
            "chat_auth_timeout_s": 30,
        }
    )
    with serve_in_thread(create_app(limited), **uvicorn_ws_options(limited)) as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def fresh_limit_logs(monkeypatch):
    """Each test sees its own first warning (they are logged once per interval)."""
    for module in (connection_guard, chat_ws):
        monkeypatch.setattr(module, "limits_hit", LimitLog(module.log))


async def raw_exchange(base_url: str, sent: bytes, wait_s: float = 10) -> tuple[bytes, float]:
    """Connect, send `sent`, read until the server closes: (what it sent, seconds taken)."""
    host, port = base_url.removeprefix("http://").split(":")
    started = time.monotonic()  # before connecting: the server's deadline starts after
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(sent)
    try:
        answer = await asyncio.wait_for(reader.read(), wait_s)
    finally:
        writer.close()
    return answer, time.monotonic() - started


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects, says nothing
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",  # headers never finished
        b"GET /api/v1/chat/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n",  # handshake
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\ncontent-length: 100\r\n\r\n{",  # body
    ],
    ids=["silent", "half-sent headers", "half-sent handshake", "half-sent body"],
)
async def test_an_incomplete_request_is_cut_at_the_deadline(guarded, sent, caplog):
    with caplog.at_level(logging.WARNING, logger="api.connection_guard"):
        answer, took = await raw_exchange(guarded, sent)
    assert REQUEST_TIMEOUT_S <= took < REQUEST_TIMEOUT_S + 1.5
    if b"\r\n\r\n" not in sent:
        assert answer.startswith(b"HTTP/1.1 408 ")
    assert "no complete request within 1 s" in caplog.text


async def test_a_keep_alive_connection_has_the_deadline_for_its_next_request(guarded):
    ask = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    answer, took = await raw_exchange(guarded, ask + b"GET /healthz HTTP/1.1\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1 ") == 2
    assert took < REQUEST_TIMEOUT_S + 1.5  # the 408 came at its deadline, before keep-alive's


async def test_past_max_connections_only_healthz_is_served(guarded, sessions, caplog):
    user = await make_user(sessions)
    async with AsyncExitStack() as sockets:
        chats = []
        for _ in range(MAX_CONNECTIONS):
            ws, _ = await ready_chat(guarded, user.token)
            sockets.push_async_callback(ws.close)
            chats.append(ws)
        with caplog.at_level(logging.WARNING, logger="api.connection_guard"):
            async with httpx.AsyncClient(base_url=guarded) as http:
                busy = await http.get("/api/v1/tokens/pricing")
            async with httpx.AsyncClient(base_url=guarded) as http:
                health = await http.get("/healthz")
            with pytest.raises(InvalidStatus) as refused:
                await open_chat(guarded, user.token)
        assert (busy.status_code, busy.json()["code"]) == (503, "server_busy")
        assert busy.headers["connection"] == "close"
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        assert health.headers["connection"] == "close"
        assert refused.value.response.status_code == 503
        assert "connection limit reached" in caplog.text and "MAX_CONNECTIONS" in caplog.text
        for ws in chats:  # every socket already open still answers
            await send(ws, {"type": "ping"})
            assert (await recv(ws))["type"] == "pong"
    async with httpx.AsyncClient(base_url=guarded) as http:  # closed: served again
        assert (await http.get("/api/v1/tokens/pricing")).status_code == 200


async def test_one_address_keeps_only_so_many_sockets_waiting_to_authenticate(
    guarded, sessions, caplog
):
    user = await make_user(sessions)
    waiting = [await open_chat(guarded) for _ in range(MAX_WAITING)]
    with caplog.at_level(logging.WARNING, logger="api.routes.chat_ws"):
        one_too_many = await open_chat(guarded)
        assert await close_code(one_too_many) == 1013
    assert "wait for their auth frame" in caplog.text
    signed_in, _ = await ready_chat(guarded, user.token)  # a Bearer header never waits
    await send(signed_in, {"type": "ping"})
    assert (await recv(signed_in))["type"] == "pong"

    await send(waiting[1], {"type": "auth", "token": user.token})
    assert (await recv(waiting[1]))["type"] == "ready"  # one fewer waiting: room for one
    another = await open_chat(guarded)
    await send(another, {"type": "auth", "token": user.token})
    assert (await recv(another))["type"] == "ready"
    for ws in [*waiting, another, signed_in]:
        await ws.close()


def test_a_limit_hit_again_and_again_is_logged_once_per_interval(caplog):
    limits = LimitLog(logging.getLogger("test.limits"), interval_s=60)
    with caplog.at_level(logging.WARNING, logger="test.limits"):
        for n in range(5):
            limits.hit("SOME_LIMIT", "refused client %d", n)
    assert [r.getMessage() for r in caplog.records] == [
        "refused client 0 [SOME_LIMIT: 1 time(s) since the last such line]"
    ]
