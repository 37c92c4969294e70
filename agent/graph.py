"""The compiled agent: create_agent with our tools and one middleware: a bound on model
calls, repair of malformed tool calls, strictly read tool arguments and bounded retries of
failed provider calls. Compiled once per model and bound, then shared by every turn."""

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, cast

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph
from langsmith import set_runtime_overrides
from langsmith.utils import tracing_is_enabled

from agent.model import strict_tool_calls
from agent.provider_retry import with_retries
from tools import ALL_TOOLS
from tools.context import AgentContext

OUT_OF_STEPS = (
    "I had to stop here: this request needed more steps than I may take in one turn. "
    "What I did so far is saved. Could you ask for one thing at a time?"
)


OUT_OF_STEPS_MARK = {"dealagent": "out_of_steps"}  # not a model call: never metered


def out_of_steps(message: BaseMessage) -> bool:
    return isinstance(message, AIMessage) and message.response_metadata == OUT_OF_STEPS_MARK


def calls_this_turn(messages: list[BaseMessage]) -> int:
    """Model replies since the turn's user message (earlier turns' replies precede it)."""
    calls = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        calls += isinstance(message, AIMessage)
    return calls


def only_malformed(message: BaseMessage) -> bool:
    return (
        isinstance(message, AIMessage)
        and bool(message.invalid_tool_calls)
        and not message.tool_calls
    )


def malformed_errors(message: AIMessage) -> list[ToolMessage]:
    """What the model is told of each unparseable call (create_agent's own wording)."""
    return [
        ToolMessage(
            content=f"Tool call {call.get('name') or 'unknown'} with id {call['id']} could not "
            "be executed - arguments were malformed or truncated.",
            name=call.get("name") or "unknown",
            tool_call_id=call["id"],
            status="error",
        )
        for call in message.invalid_tool_calls
        if call.get("id")
    ]


class TurnGuard(AgentMiddleware):
    """Everything around a model call, in one hook inside create_agent's model node: hooks
    before or after the model would each be a graph node of their own, and each wrap hook
    is a langsmith `traceable` run of its own. Per turn, at most `max_calls` model calls,
    then a plain answer instead of an error; each call's provider failures retried
    (agent.provider_retry: one call however often it is tried); its tool arguments read
    strictly (agent.model); and a reply holding only unparseable tool calls goes straight
    back to the model with an error for each, so it can correct them."""

    def __init__(self, max_calls: int) -> None:
        super().__init__()
        self.max_calls = max_calls

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        seen = request.messages
        made = calls_this_turn(seen)
        replies: list[BaseMessage] = []
        while made < self.max_calls:
            # After a malformed reply: what the model saw, that reply and its errors.
            response = await with_retries(request.override(messages=[*seen, *replies]), handler)
            made += 1
            result = [strict_tool_calls(message) for message in response.result]
            replies += result
            if not only_malformed(result[-1]):
                return ModelResponse(replies, response.structured_response)
            replies += malformed_errors(cast(AIMessage, result[-1]))
        replies.append(AIMessage(content=OUT_OF_STEPS, response_metadata=OUT_OF_STEPS_MARK))
        return ModelResponse(replies)


_compiled: dict[tuple[int, int], tuple[BaseChatModel, CompiledStateGraph]] = {}


def build_agent(model: BaseChatModel, max_model_calls: int) -> CompiledStateGraph:
    """The compiled agent for this (long-lived, shared) model; compiling costs milliseconds."""
    key = (id(model), max_model_calls)
    if key not in _compiled:
        _compiled[key] = (model, compile_agent(model, max_model_calls))
    return _compiled[key][1]


async def inline_unless_tracing(
    default: Callable[..., Awaitable[Any]],
    ctx: contextvars.Context,
    func: Callable[..., Any],
    /,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """langsmith's `traceable` (around every wrap hook) sets each run up and ends it in the
    default thread pool, tracing on or off: two thread hops per model call. With tracing
    off both only read and set context variables, so they run here, in the caller's loop."""
    if tracing_is_enabled():
        return await default(ctx, func, *args, **kwargs)
    return ctx.run(func, *args, **kwargs)


def compile_agent(model: BaseChatModel, max_model_calls: int) -> CompiledStateGraph:
    set_runtime_overrides(aio_to_thread=inline_unless_tracing)
    return create_agent(
        model,
        ALL_TOOLS,
        # The system prompt is the first message of each turn's input (agent/turn.py), as
        # it names the turn's goal; a dynamic-prompt middleware would be a second wrap hook,
        # with a langsmith `traceable` run of its own per model call.
        system_prompt=None,
        middleware=[TurnGuard(max_model_calls)],
        context_schema=AgentContext,
    )
