"""The bare LangChain server: a FastAPI WebSocket running LangChain's own `create_agent`
with a scripted model that calls one tool (get_balance: one SELECT) and then answers,
streamed the way dealagent streams (delta, tool_call, tool_result frames, then the reply).
No persistence, billing, turn gate, history or token counting: what the framework costs.

    python -m bench.langchain_server --port 8002 --database-url postgresql://…

Frames: {"type": "auth", "user_id"} -> ready; {"type": "user_message", "id", "content"}
-> … {"type": "assistant_message", "id", "content"}.
"""

import json
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from langchain.agents import create_agent
from langchain.tools import ToolRuntime, tool
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from psycopg_pool import AsyncConnectionPool

from bench.reference_cli import serve


@dataclass
class Context:
    user_id: str
    pool: AsyncConnectionPool


@tool
async def get_balance(runtime: ToolRuntime[Context]) -> dict[str, str]:
    """The user's token balance."""
    async with runtime.context.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT token_balance FROM users WHERE id = %s", (runtime.context.user_id,)
        )
        row = await cur.fetchone()
    return {"token_balance": str(row[0]) if row else "0"}


class ScriptedModel(BaseChatModel):
    """First a get_balance call, then an answer from its result; chunked like a provider."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, AIMessage]:
        return self

    def reply(self, messages: list[BaseMessage]) -> AIMessage:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            balance = json.loads(last.text)["token_balance"]
            return AIMessage(content=f"Your balance is {balance} tokens.")
        call = {"name": "get_balance", "args": {}, "id": f"call_{uuid.uuid4().hex[:16]}"}
        return AIMessage(content="", tool_calls=[call])

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.reply(messages))])

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        message = self.reply(messages)
        if message.tool_calls:
            call = message.tool_calls[0]
            chunk = {"name": call["name"], "args": "{}", "id": call["id"], "index": 0}
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[chunk]))
        else:
            yield ChatGenerationChunk(message=AIMessageChunk(content=message.text))
        yield ChatGenerationChunk(message=AIMessageChunk(content=""))

    async def _astream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._stream(messages):
            yield chunk


AGENT = create_agent(ScriptedModel(), [get_balance], context_schema=Context)


def create_app(database_url: str, pool_size: int) -> FastAPI:
    pool = AsyncConnectionPool(database_url, min_size=pool_size, max_size=pool_size, open=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=True)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.websocket("/api/v1/chat/ws")
    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        user_id = ""
        try:
            while True:
                frame = await websocket.receive_json()
                if frame.get("type") == "auth":
                    user_id = frame["user_id"]
                    await websocket.send_json({"type": "ready", "user_id": user_id})
                elif frame.get("type") == "ping":
                    await websocket.send_json({"type": "pong"})
                else:
                    await turn(websocket, Context(user_id, pool), frame)
        except WebSocketDisconnect:
            return

    return app


async def turn(websocket: WebSocket, context: Context, frame: dict[str, Any]) -> None:
    content = ""
    async for mode, data in AGENT.astream(
        {"messages": [{"role": "user", "content": frame["content"]}]},
        context=context,
        stream_mode=["messages", "updates"],
    ):
        if mode == "messages":
            chunk, _ = data
            if chunk.text and isinstance(chunk, AIMessageChunk):
                await websocket.send_json({"type": "delta", "text": chunk.text})
            continue
        for update in data.values():
            for message in (update or {}).get("messages", []):
                if isinstance(message, ToolMessage):
                    result = {"type": "tool_result", "call_id": message.tool_call_id}
                    await websocket.send_json({**result, "result": json.loads(message.text)})
                elif isinstance(message, AIMessage):
                    content = message.text or content
                    for call in message.tool_calls:
                        await websocket.send_json({"type": "tool_call", **call})
    await websocket.send_json({"type": "assistant_message", "id": frame["id"], "content": content})


if __name__ == "__main__":
    serve(__doc__.splitlines()[0], create_app)
