"""The chat model from settings: an OpenAI-compatible provider when a key is set, else the
offline model."""

import json
from collections import defaultdict
from collections.abc import AsyncIterator
from functools import cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import invalid_tool_call
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI

from agent.offline_model import OfflineChatModel
from core.config import Settings


class IncompleteAnswer(Exception):
    """The provider's stream ended before a finish_reason: the answer was cut off."""


# response_metadata of an answer: {tool call id: [why its arguments are refused, them]}
MALFORMED = "malformed_tool_calls"


def arguments_problem(raw: str) -> str | None:
    """Why a tool call's raw arguments are no JSON object, or None (none at all is {})."""
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"the arguments are not valid JSON ({exc.msg} at character {exc.pos})"
    return None if isinstance(value, dict) else "the arguments are not a JSON object"


class CheckedChatOpenAI(ChatOpenAI):
    """ChatOpenAI that never hands on a broken answer as if it were whole:

    - a stream ending without a finish_reason (a connection closed cleanly mid-answer,
      without `data: [DONE]`) raises IncompleteAnswer, as the openai client would not;
    - tool arguments that strict JSON refuses are marked (MALFORMED) on the answer, as
      langchain reads streamed arguments leniently ('{"max_budget": 30' as 30, what
      followed lost); strict_tool_calls then makes them invalid tool calls."""

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        finished = False
        calls: dict[int, list[str]] = defaultdict(list)  # index -> [id, argument parts...]
        async for chunk in super()._astream(*args, **kwargs):
            finished = finished or bool((chunk.generation_info or {}).get("finish_reason"))
            for part in getattr(chunk.message, "tool_call_chunks", []):
                parts = calls[part.get("index") or 0]
                parts[:1] = [parts[0] if parts else part.get("id") or ""]
                parts.append(part.get("args") or "")
            yield chunk
        if not finished:
            raise IncompleteAnswer("the stream ended without a finish_reason")
        raw = {parts[0]: "".join(parts[1:]) for parts in calls.values()}
        broken = {i: [why, args] for i, args in raw.items() if (why := arguments_problem(args))}
        if broken:
            yield ChatGenerationChunk(
                message=AIMessageChunk(""), generation_info={MALFORMED: broken}
            )


def strict_tool_calls(message: BaseMessage) -> BaseMessage:
    """`message` with the tool calls CheckedChatOpenAI marked moved to invalid_tool_calls,
    which go back to the model as errors instead of running on guessed arguments."""
    broken = message.response_metadata.get(MALFORMED) if isinstance(message, AIMessage) else None
    if not broken:
        return message
    refused = [
        invalid_tool_call(
            name=c["name"], args=broken[c["id"]][1], id=c["id"], error=broken[c["id"]][0]
        )
        for c in message.tool_calls
        if c["id"] in broken
    ]
    return message.model_copy(
        update={
            "tool_calls": [c for c in message.tool_calls if c["id"] not in broken],
            "invalid_tool_calls": [*message.invalid_tool_calls, *refused],
        }
    )


@cache
def provider_model(api_key: str, base_url: str | None, model: str, timeout_s: float) -> ChatOpenAI:
    """One client per configuration, so its connection pool is shared by every turn.

    The openai client's own retries are off: agent/provider_retry.py retries every failed
    model call (mid-stream failures and cut-off answers too, which the client would not).
    `timeout_s` bounds connecting and each wait for the stream's next bytes (a stall).
    """
    return CheckedChatOpenAI(
        model=model,
        api_key=api_key,
        base_url=base_url,
        streaming=True,
        stream_usage=True,
        timeout=timeout_s,
        max_retries=0,
    )


def chat_model(settings: Settings) -> BaseChatModel:
    if not settings.openai_api_key:
        return offline_model()
    return provider_model(
        settings.openai_api_key,
        settings.openai_base_url,
        settings.llm_model,
        settings.llm_timeout_s,
    )


@cache
def offline_model() -> OfflineChatModel:
    return OfflineChatModel()


def model_name(model: BaseChatModel) -> str:
    return getattr(model, "model_name", None) or type(model).__name__
