"""The offline model: a LangChain chat model that needs no network and no key.

It reads the user's request (agent/intents.py), calls the same tools through the same
create_agent loop a real model would, and writes its reply from the tool results
(agent/offline_plan.py). It reports usage counted with tiktoken, so turns are metered
exactly as with a provider.
"""

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent import intents
from agent import state as conversation
from agent.offline_plan import Call, Known, next_move, parse_result
from agent.tokens import count_messages, count_text

CURRENT_GOAL_RE = re.compile(r"Current goal: (" + intents.UUID_RE.pattern + ")")
OFFLINE_MODEL_NAME = "dealagent-offline"


class OfflineChatModel(BaseChatModel):
    model_name: str = OFFLINE_MODEL_NAME

    @property
    def _llm_type(self) -> str:
        return "dealagent-offline"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Any | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        names = tuple(
            t.name if isinstance(t, BaseTool) else convert_to_openai_tool(t)["function"]["name"]
            for t in tools
        )
        return self.bind(tool_names=names, **kwargs)

    def reply(self, messages: list[BaseMessage], tool_names: Sequence[str]) -> AIMessage:
        """The whole answer to `messages`: a tool call or text, with its usage."""
        asked = max(
            (i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=None
        )
        if asked is None:
            move: Call | str = "Hello! " + next_move(intents.Intent("help"), [], set(), Known())
        else:
            this_turn = messages[asked + 1 :]
            args = {
                call["id"]: call["args"]
                for m in this_turn
                if isinstance(m, AIMessage)
                for call in m.tool_calls
            }
            results = [
                parse_result(m.name or "", m.status, m.text, args.get(m.tool_call_id, {}))
                for m in this_turn
                if isinstance(m, ToolMessage)
            ]
            before = [m.text for m in messages[:asked] if isinstance(m, HumanMessage)]
            intent = intents.follow_on(
                intents.read(messages[asked].text), before[-1] if before else None
            )
            move = next_move(intent, results, set(tool_names), known(messages))
        if isinstance(move, Call):
            args = {k: v for k, v in move.args.items() if v is not None}
            call = {"name": move.name, "args": args, "id": f"call_{uuid.uuid4().hex[:16]}"}
            message = AIMessage(content="", tool_calls=[call])
            output = count_text(move.name + json.dumps(args))
        else:
            message = AIMessage(content=move)
            output = count_text(move)
        message.usage_metadata = usage(count_messages(messages), output)
        message.response_metadata = {"model_name": self.model_name, "finish_reason": "stop"}
        return message

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self.reply(messages, kwargs.get("tool_names", ()))
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from chunks_of(self.reply(messages, kwargs.get("tool_names", ())))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # langchain-core reports each chunk to the callbacks (and so to stream_mode="messages").
        for chunk in chunks_of(self.reply(messages, kwargs.get("tool_names", ()))):
            yield chunk


def usage(input_tokens: int, output_tokens: int) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )


def known(messages: list[BaseMessage]) -> Known:
    """The chat's goal and what the conversation showed, from the system prompt."""
    for message in messages:
        if isinstance(message, SystemMessage):
            found = CURRENT_GOAL_RE.search(message.text)
            return Known(found[1] if found else None, conversation.parse(message.text))
    return Known()


def chunks_of(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    """The message streamed line by line; the last chunk carries usage, as OpenAI's does."""
    meta = {"response_metadata": message.response_metadata}
    if message.tool_calls:
        tool_chunks = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(message.tool_calls)
        ]
        yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=tool_chunks))
    else:
        for line in message.text.splitlines(keepends=True):
            yield ChatGenerationChunk(message=AIMessageChunk(content=line))
    yield ChatGenerationChunk(
        message=AIMessageChunk(content="", usage_metadata=message.usage_metadata, **meta)
    )
