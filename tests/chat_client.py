"""The chat client for the tests and the bench: converse.client, plus what tests look for
(a ready frame, frames up to a kind, the close code)."""

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from converse.client import CHAT_PATH, chat, open_chat, recv, send, ws_url

__all__ = ["CHAT_PATH", "chat", "open_chat", "recv", "send", "ws_url"]


async def ready_chat(base_url: str, token: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await open_chat(base_url, token)
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    return ws, ready


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
