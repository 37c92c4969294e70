"""Retries of the provider's model calls: bounded, explicit, and never a broken answer.

A model call is tried again, at most LLM_MAX_RETRIES times, when the provider answered
408, 409, 429 or 5xx, the connection failed or stayed silent past LLM_TIMEOUT_S (before
the answer or mid-stream), or the stream ended before a finish_reason (a cut-off answer,
agent.model.IncompleteAnswer). Any other status (400, 401, 404, ...) fails at once:
asking again cannot fix it.

The wait before a retry is the provider's Retry-After (seconds, retry-after-ms, or an
HTTP date) when it sends one, else LLM_RETRY_WAIT_S doubling, up to 8 s. One call's waits
add up to at most LLM_RETRY_WAIT_MAX_S: a Retry-After past what is left fails the call at
once, saying when to try again. A call that fails for good raises LLMUnavailable, and
agent.turn stores no reply and charges no chat_turn.

Text a failed call had streamed is void: before each retry the client is told (a
`model_retry` frame, written to the stream and sent on by the turn).
"""

import asyncio
import email.utils
import math
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import openai
from langchain.agents.middleware import ModelRequest, ModelResponse

from agent.model import IncompleteAnswer
from core.config import Settings

MAX_BACKOFF_S = 8.0
RETRIED_STATUSES = frozenset({408, 409, 429})


class LLMUnavailable(Exception):
    """The model provider failed after the retries allowed. `retry_after_s`: how long the
    provider asked us to wait, when it said."""

    code = "llm_unavailable"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def what_failed(error: BaseException) -> tuple[str, bool] | None:
    """What went wrong, in plain words, and whether asking again may help; None for an
    error that is not the provider's (ours, raised on)."""
    if isinstance(error, IncompleteAnswer):
        return "its answer was cut off", True
    if isinstance(error, openai.APITimeoutError):
        return "it did not answer in time", True
    if isinstance(error, openai.APIConnectionError):
        return "the connection to it failed", True
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        if status == 429:
            return "it is rate limiting us", True
        if status in RETRIED_STATUSES or status >= 500:
            return f"it answered with an error (HTTP {status})", True
        return f"its provider refused our request (HTTP {status})", False
    if isinstance(error, openai.APIError):  # an error event in the stream, a garbled chunk
        return "it sent a broken answer", True
    return None


def seconds(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def retry_after(error: BaseException, now: datetime | None = None) -> float | None:
    """The wait the provider asked for, in seconds: retry-after-ms, else Retry-After as
    seconds or an HTTP date; None when it asked for none (or wrote it unreadably)."""
    if not isinstance(error, openai.APIStatusError):
        return None
    headers = error.response.headers
    if (ms := seconds(headers.get("retry-after-ms"))) is not None:
        return ms / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    if (wait := seconds(value)) is not None:
        return wait
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, by RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff(first_s: float, retry: int) -> float:
    """The wait before retry number `retry` (1, 2, ...): doubling, capped, and 0-25 % shorter
    at random so that turns failing together do not all come back together."""
    return min(first_s * 2 ** (retry - 1), MAX_BACKOFF_S) * (1 - 0.25 * random.random())


def duration_text(wait_s: float) -> str:
    if wait_s < 90:
        whole = max(1, math.ceil(wait_s))
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(wait_s / 60)
    return f"{minutes} minutes"


NOT_CHARGED = "You were not charged for a reply"


def unavailable(what: str, tries: int, may_help: bool, wait_s: float | None) -> LLMUnavailable:
    if not may_help:
        return LLMUnavailable(
            f"The AI model could not answer: {what}. {NOT_CHARGED}. Trying again will not "
            "help; please tell the service's operator."
        )
    if wait_s is not None and wait_s > 0:
        return LLMUnavailable(
            f"The AI model is busy: its provider asked us to wait {duration_text(wait_s)}. "
            f"{NOT_CHARGED}; please send your message again after that.",
            round(wait_s, 3),
        )
    tried = f"{tries} tries" if tries > 1 else "1 try"
    return LLMUnavailable(
        f"The AI model could not answer: {what} ({tried}). "
        f"{NOT_CHARGED}; please send your message again in a minute."
    )


async def with_retries(
    request: ModelRequest, call: Callable[[ModelRequest], Awaitable[ModelResponse]]
) -> ModelResponse:
    """`call(request)`, one model call, tried again as above with the turn's settings
    (agent.graph's middleware runs it for every model call)."""
    settings: Settings = request.runtime.context.settings
    waited = 0.0
    retry = 0
    while True:
        try:
            return await call(request)
        except Exception as error:
            found = what_failed(error)
            if found is None:
                raise
            what, may_help = found
            asked = retry_after(error)
            retry += 1
            wait = asked if asked is not None else backoff(settings.llm_retry_wait_s, retry)
            within = waited + wait <= settings.llm_retry_wait_max_s
            if not may_help or retry > settings.llm_max_retries or not within:
                raise unavailable(what, retry, may_help, asked) from error
            waited += wait
            request.runtime.stream_writer(
                {
                    "type": "model_retry",
                    "attempt": retry + 1,
                    "wait_s": round(wait, 3),
                    "reason": what,
                }
            )
            await asyncio.sleep(wait)
