"""The compiled agent: create_agent with our tools, a bound on model calls, repair of
malformed tool calls and bounded retries of failed provider calls. Compiled once per model
and bound, then shared by every turn."""

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    AgentState,
    ModelCallLimitMiddleware,
    ModelRequest,
    ModelResponse,
    hook_config,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agent.model import strict_tool_calls
from agent.provider_retry import ProviderRetry
from tools import ALL_TOOLS
from tools.context import AgentContext

OUT_OF_STEPS = (
    "I had to stop here: this request needed more steps than I may take in one turn. "
    "What I did so far is saved. Could you ask for one thing at a time?"
)


class TurnCallLimit(ModelCallLimitMiddleware):
    """At most `run_limit` model calls per turn, then a plain answer instead of an error."""

    @hook_config(can_jump_to=["end"])
    def before_model(self, state: Any, runtime: Runtime[Any]) -> dict[str, Any] | None:
        stop = super().before_model(state, runtime)
        if stop is not None:
            stop["messages"] = [AIMessage(content=OUT_OF_STEPS)]
        return stop


class RetryMalformedToolCalls(AgentMiddleware):
    """A reply holding only unparseable tool calls goes back to the model, whose next call
    sees an error message for each (create_agent adds those), so it can correct them."""

    @hook_config(can_jump_to=["model"])
    def after_model(self, state: AgentState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        last = state["messages"][-1]
        if isinstance(last, AIMessage) and last.invalid_tool_calls and not last.tool_calls:
            return {"jump_to": "model"}
        return None

    @hook_config(can_jump_to=["model"])
    async def aafter_model(self, state: AgentState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        return self.after_model(state, runtime)  # no thread hop for a dict lookup


class StrictToolArguments(AgentMiddleware):
    """Tool calls whose arguments are broken JSON become invalid calls (agent.model)."""

    async def awrap_model_call(
        self,
        request: ModelRequest,
        handler: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        response = await handler(request)
        response.result = [strict_tool_calls(message) for message in response.result]
        return response


_compiled: dict[tuple[int, int], tuple[BaseChatModel, CompiledStateGraph]] = {}


def build_agent(model: BaseChatModel, max_model_calls: int) -> CompiledStateGraph:
    """The compiled agent for this (long-lived, shared) model; compiling costs milliseconds."""
    key = (id(model), max_model_calls)
    if key not in _compiled:
        _compiled[key] = (model, compile_agent(model, max_model_calls))
    return _compiled[key][1]


def compile_agent(model: BaseChatModel, max_model_calls: int) -> CompiledStateGraph:
    return create_agent(
        model,
        ALL_TOOLS,
        # The system prompt is the first message of each turn's input (agent/turn.py), as
        # it names the turn's goal; a dynamic-prompt middleware would cost two thread hops
        # per model call (langsmith's traceable wraps every wrap_model_call hook).
        system_prompt=None,
        # after_model hooks run last to first: the call is counted before a malformed one
        # jumps back to the model (first, it would never be, and the loop never ends).
        middleware=[
            RetryMalformedToolCalls(),
            TurnCallLimit(run_limit=max_model_calls, exit_behavior="end"),
            ProviderRetry(),
            StrictToolArguments(),
        ],
        context_schema=AgentContext,
    )
