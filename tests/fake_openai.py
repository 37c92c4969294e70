"""A local OpenAI-compatible chat-completions server that replays a script.

It speaks the real wire format (POST /v1/chat/completions; streamed SSE chunks with
content and tool_calls deltas, a finish_reason, and, when the client asks with
stream_options.include_usage, a final usage chunk), so the real openai client and
langchain-openai run against it. Each request takes the next step of the script:

    Text("Hello")                       a streamed answer
    ToolCalls([("create_goal", '{"title": "x"}')])   streamed tool calls, raw JSON arguments
    Fail(429) / Fail(500)               an error status (with a short retry-after-ms)
    Fail(429, retry_after="3")          ... with that Retry-After (seconds or an HTTP date)
    Stall(2.0)                          answer nothing for that long (a client timeout)
    Cut(Text("Hello there"), 2, "end")  the first 2 chunks, then the body ends: no
                                        finish_reason, no [DONE]; "drop" drops the
                                        connection instead, "stall" goes silent for 2 s

Every request body is kept in `.requests` for the test to inspect.
"""

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.live_server import serve_in_thread


@dataclass
class Text:
    text: str
    prompt_tokens: int = 120
    completion_tokens: int = 15


@dataclass
class ToolCalls:
    calls: list[tuple[str, str]]  # (name, raw JSON arguments)
    prompt_tokens: int = 130
    completion_tokens: int = 25


@dataclass
class Fail:
    status: int
    retry_after: str | None = None  # None: retry-after-ms 20


@dataclass
class Stall:
    seconds: float


@dataclass
class Cut:
    step: Text | ToolCalls
    after: int  # chunks sent before the cut
    then: Literal["end", "drop", "stall"]
    stall_s: float = 2.0


class DropConnection(Exception):
    """Raised inside a streaming body: uvicorn closes the connection mid-response."""


Step = Text | ToolCalls | Fail | Stall | Cut


@dataclass
class FakeOpenAI:
    base_url: str = ""
    script: deque[Step] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def play(self, *steps: Step) -> None:
        self.script.clear()
        self.requests.clear()
        self.script.extend(steps)

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        if not self.script:
            return JSONResponse({"error": {"message": "script exhausted"}}, status_code=400)
        step = self.script.popleft()
        if isinstance(step, Fail):
            error = {"error": {"message": f"scripted {step.status}", "type": "server_error"}}
            wait = {"retry-after": step.retry_after} if step.retry_after else None
            headers = wait or {"retry-after-ms": "20"}
            return JSONResponse(error, status_code=step.status, headers=headers)
        if isinstance(step, Stall):
            await asyncio.sleep(step.seconds)
            return JSONResponse({"error": {"message": "too late"}}, status_code=500)
        include_usage = (body.get("stream_options") or {}).get("include_usage", False)
        answer = step.step if isinstance(step, Cut) else step
        events = sse(chunks(answer, body.get("model", "m"), include_usage))
        if isinstance(step, Cut):
            events = cut(events, step)
        return StreamingResponse(events, media_type="text/event-stream")


def chunk(model: str, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }


def chunks(step: Text | ToolCalls, model: str, include_usage: bool) -> Iterator[dict[str, Any]]:
    yield chunk(model, {"role": "assistant", "content": "" if isinstance(step, Text) else None})
    if isinstance(step, Text):
        for i, word in enumerate(step.text.split(" ")):
            yield chunk(model, {"content": (" " if i else "") + word})
        yield chunk(model, {}, "stop")
    else:
        for index, (name, arguments) in enumerate(step.calls):
            head = {"index": index, "id": f"call_{index}_{time.monotonic_ns()}", "type": "function"}
            start = {**head, "function": {"name": name, "arguments": ""}}
            yield chunk(model, {"tool_calls": [start]})
            half = len(arguments) // 2
            for part in (arguments[:half], arguments[half:]):
                more = {"index": index, "function": {"arguments": part}}
                yield chunk(model, {"tool_calls": [more]})
        yield chunk(model, {}, "tool_calls")
    if include_usage:
        usage = {
            "prompt_tokens": step.prompt_tokens,
            "completion_tokens": step.completion_tokens,
            "total_tokens": step.prompt_tokens + step.completion_tokens,
        }
        yield {**chunk(model, None), "usage": usage}


async def sse(events: Iterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    for event in events:
        yield f"data: {json.dumps(event)}\n\n".encode()
    yield b"data: [DONE]\n\n"


async def cut(events: AsyncIterator[bytes], step: Cut) -> AsyncIterator[bytes]:
    sent = 0
    async for event in events:
        if sent == step.after:
            break
        yield event
        sent += 1
    if step.then == "drop":
        raise DropConnection
    if step.then == "stall":
        await asyncio.sleep(step.stall_s)


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    app = Starlette(routes=[Route("/v1/chat/completions", fake.completions, methods=["POST"])])
    # Quiet: a dropped connection (Cut "drop") is an exception uvicorn would log.
    with serve_in_thread(app, log_level="critical") as base_url:
        fake.base_url = f"{base_url}/v1"
        yield fake
