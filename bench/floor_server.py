"""The bare floor: a WebSocket with no framework that, per user message, stores it and a
reply and debits the user in one 3-statement transaction. What any chat server must pay.

    python -m bench.floor_server --port 8001 --database-url postgresql://…

Frames: {"type": "auth", "user_id"} -> ready; {"type": "user_message", "id", "content"}
-> {"type": "assistant_message", "id", "token_balance"}.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from bench.reference_cli import serve

Message = dict[str, Any]
STORE = "INSERT INTO chat_messages (user_id, role, content) VALUES (%s, %s, %s)"
DEBIT = "UPDATE users SET token_balance = token_balance - 0.1 WHERE id = %s RETURNING token_balance"


class FloorApp:
    def __init__(self, database_url: str, pool_size: int) -> None:
        self.pool = AsyncConnectionPool(
            database_url, min_size=pool_size, max_size=pool_size, open=False
        )

    async def __call__(
        self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Any
    ) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "websocket":
            await self.chat(receive, send)

    async def lifespan(self, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.pool.open(wait=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def chat(self, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        user_id = None
        while (message := await receive())["type"] == "websocket.receive":
            frame = json.loads(message.get("text") or message.get("bytes") or b"{}")
            if frame.get("type") == "auth":
                user_id = frame["user_id"]
                reply: Message = {"type": "ready", "user_id": user_id}
            elif frame.get("type") == "ping":
                reply = {"type": "pong"}
            else:
                balance = await self.turn(user_id, frame["content"])
                reply = {"type": "assistant_message", "id": frame["id"], "token_balance": balance}
            await send({"type": "websocket.send", "text": json.dumps(reply)})

    async def turn(self, user_id: str | None, content: str) -> str:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(STORE, (user_id, "user", content))
            await conn.execute(STORE, (user_id, "assistant", "Your balance is ..."))
            row = await (await conn.execute(DEBIT, (user_id,))).fetchone()
        return str(row[0]) if row else "0"


if __name__ == "__main__":
    serve(__doc__.splitlines()[0], FloorApp)
