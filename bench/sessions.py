"""Chat sessions driving a server over real WebSockets: each session connects,
authenticates, then sends its turns one after another, timing each from sending
`user_message` to receiving that message's `assistant_message`."""

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect

from bench.scratch import BenchUser
from bench.servers import Server

CHAT_PATH = "/api/v1/chat/ws"
MESSAGE = "what's my balance?"  # one tool call (get_balance: one SELECT) on every server
FINAL = ("assistant_message", "error")


@dataclass
class Run:
    latencies_ms: list[float]
    wall_s: float
    turns: int


async def open_session(server: Server, user: BenchUser) -> ClientConnection:
    url = server.url.replace("http", "ws", 1) + CHAT_PATH
    headers = {"Authorization": f"Bearer {user.token}"} if server.uses_bearer else None
    ws = await connect(url, additional_headers=headers, max_size=2**22, open_timeout=60)
    if not server.uses_bearer:
        await ws.send(json.dumps({"type": "auth", "user_id": user.id}))
    ready = json.loads(await asyncio.wait_for(ws.recv(), 60))
    if ready.get("type") != "ready":
        raise RuntimeError(f"{server.kind}: {ready}")
    return ws


async def one_turn(ws: ClientConnection, server: Server) -> float:
    msg_id = uuid.uuid4().hex
    started = time.perf_counter()
    await ws.send(json.dumps({"type": "user_message", "id": msg_id, "content": MESSAGE}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 300))
        if frame.get("id") == msg_id and frame.get("type") in FINAL:
            break
    if frame["type"] == "error":
        raise RuntimeError(f"{server.kind}: {frame}")
    return (time.perf_counter() - started) * 1000


async def warm(server: Server, users: Sequence[BenchUser]) -> list[ClientConnection]:
    """Every session open, with one turn done (pools filled, code paths warm)."""
    sockets = await asyncio.gather(*(open_session(server, u) for u in users))
    await asyncio.gather(*(one_turn(ws, server) for ws in sockets))
    return list(sockets)


async def drive(server: Server, sockets: Sequence[ClientConnection], turns: int) -> Run:
    """Every session's `turns` turns at once."""

    async def session(ws: ClientConnection) -> list[float]:
        return [await one_turn(ws, server) for _ in range(turns)]

    started = time.perf_counter()
    per_session = await asyncio.gather(*(session(ws) for ws in sockets))
    wall = time.perf_counter() - started
    latencies = [ms for one in per_session for ms in one]
    return Run(latencies, wall, len(latencies))


async def close_all(sockets: Sequence[ClientConnection]) -> None:
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
