"""A small chat client for the tests and the bench: the real `websockets` client, JSON frames."""

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

CHAT_PATH = "/api/v1/chat/ws"


def ws_url(base_url: str) -> str:
    return base_url.replace("http", "ws", 1) + CHAT_PATH


async def open_chat(base_url: str, token: str | None = None) -> ClientConnection:
    """A connection authenticated by the Bearer header (when a token is given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return await connect(ws_url(base_url), additional_headers=headers, max_size=2**22)


async def ready_chat(base_url: str, token: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await open_chat(base_url, token)
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    return ws, ready


async def send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


async def recv(ws: ClientConnection, wait_s: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), wait_s))


async def recv_until(
    ws: ClientConnection, kind: str, *, wait_s: float = 10, **match: Any
) -> list[dict[str, Any]]:
    """Frames up to and including the first of type `kind` (with the given fields)."""
    frames = []
    async with asyncio.timeout(wait_s):
        while True:
            frame = await recv(ws, wait_s)
            frames.append(frame)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frames


async def frames_before(
    ws: ClientConnection, notification_id: object, wait_s: float = 10
) -> list[dict[str, Any]]:
    """The frames that arrive before the notification `notification_id`, one the test made
    last. A socket's notifications are pushed in the order they were made (the undelivered
    ones on connect oldest first), so whatever was due to it before (a leak, a repeat)
    comes first. (A ping's pong proves less: it is answered apart from the pushing.)"""
    frames = await recv_until(ws, "notification", wait_s=wait_s, id=str(notification_id))
    return frames[:-1]


async def until_closed(
    ws: ClientConnection, wait_s: float = 10
) -> tuple[list[dict[str, Any]], int | None]:
    """The frames the server sent until it closed the socket, and its close code;
    TimeoutError if it did not close within `wait_s`."""
    frames = []
    try:
        async with asyncio.timeout(wait_s):
            while True:
                frames.append(json.loads(await ws.recv()))
    except ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd else None


async def close_code(ws: ClientConnection, wait_s: float = 10) -> int | None:
    """The close code the server sent (reading and dropping frames until then)."""
    return (await until_closed(ws, wait_s))[1]


async def chat(ws: ClientConnection, msg_id: str, content: str, **extra: Any) -> list[dict]:
    """Send a user message; the frames up to its assistant_message or error."""
    await send(ws, {"type": "user_message", "id": msg_id, "content": content, **extra})
    frames = []
    while True:
        frame = await recv(ws, 30)
        frames.append(frame)
        if frame["type"] in ("assistant_message", "error") and frame.get("id") == msg_id:
            return frames
