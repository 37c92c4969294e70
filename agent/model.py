"""The chat model from settings: an OpenAI-compatible provider when a key is set, else the
offline model."""

from functools import cache

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from agent.offline_model import OfflineChatModel
from core.config import Settings


@cache
def provider_model(
    api_key: str, base_url: str | None, model: str, timeout_s: float, max_retries: int
) -> ChatOpenAI:
    """One client per configuration, so its connection pool is shared by every turn.

    The openai client retries 429, 5xx, connection errors and timeouts max_retries times
    with exponential backoff (0.5 s doubling, capped at 8 s; a Retry-After header wins).
    """
    return ChatOpenAI(
        model=model,
        api_key=api_key,
        base_url=base_url,
        streaming=True,
        stream_usage=True,
        timeout=timeout_s,
        max_retries=max_retries,
    )


def chat_model(settings: Settings) -> BaseChatModel:
    if not settings.openai_api_key:
        return offline_model()
    return provider_model(
        settings.openai_api_key,
        settings.openai_base_url,
        settings.llm_model,
        settings.llm_timeout_s,
        settings.llm_max_retries,
    )


@cache
def offline_model() -> OfflineChatModel:
    return OfflineChatModel()


def model_name(model: BaseChatModel) -> str:
    return getattr(model, "model_name", None) or type(model).__name__
