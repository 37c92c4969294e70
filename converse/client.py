"""A small chat client: the `websockets` client speaking the chat protocol's JSON frames
(docs/websocket-protocol.md). Used by `dealagent converse`, the tests and the bench."""

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

CHAT_PATH = "/api/v1/chat/ws"
TURN_WAIT_S = 30


def ws_url(base_url: str) -> str:
    return base_url.replace("http", "ws", 1) + CHAT_PATH


async def open_chat(base_url: str, token: str | None = None) -> ClientConnection:
    """A connection authenticated by the Bearer header (when a token is given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return await connect(ws_url(base_url), additional_headers=headers, max_size=2**22)


async def send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


async def recv(ws: ClientConnection, wait_s: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), wait_s))


async def chat(
    ws: ClientConnection, msg_id: str, content: str, *, wait_s: float = TURN_WAIT_S, **extra: Any
) -> list[dict]:
    """Send a user message; the frames up to its assistant_message or error (each frame
    must come within `wait_s`)."""
    await send(ws, {"type": "user_message", "id": msg_id, "content": content, **extra})
    frames = []
    while True:
        frame = await recv(ws, wait_s)
        frames.append(frame)
        if frame["type"] in ("assistant_message", "error") and frame.get("id") == msg_id:
            return frames
