"""The chat model from settings: an OpenAI-compatible provider when a key is set, else the
offline model."""

from collections.abc import AsyncIterator
from functools import cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI

from agent.offline_model import OfflineChatModel
from core.config import Settings


class IncompleteAnswer(Exception):
    """The provider's stream ended before a finish_reason: the answer was cut off."""


class CheckedChatOpenAI(ChatOpenAI):
    """ChatOpenAI that refuses a stream ending without a finish_reason (a connection
    closed cleanly mid-answer, without `data: [DONE]`): the openai client would hand on
    the partial answer as if it were whole."""

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        finished = False
        async for chunk in super()._astream(*args, **kwargs):
            finished = finished or bool((chunk.generation_info or {}).get("finish_reason"))
            yield chunk
        if not finished:
            raise IncompleteAnswer("the stream ended without a finish_reason")


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
