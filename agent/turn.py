"""One chat turn, from the user's text to a stored, billed, streamed reply.

    run_turn(request, emit) -> TurnOutcome

1. One transaction: the balance must cover the smallest charge (else InsufficientBalance,
   before any model call, nothing stored), a goal_id must be the user's (else
   GoalNotFound, likewise); the history window is read; the user message
   is stored (tokens_used = its tiktoken count, meta_data.client_message_id).
   emit({"type": "ack", "id": client_message_id, "message_id": ...}).
2. The agent runs, streaming: emit delta / tool_call / tool_result frames as they happen.
3. One transaction: the assistant message is stored (tokens_used = the provider's usage
   summed over the turn's model calls, or tiktoken counts where none was reported),
   core.billing settles the turn with one deduction, and the user's first completed turn
   pays their referral (core.referrals). A turn with nothing else to settle (no goal, no
   services, no referral) does both in one statement (core.billing.settle_with_reply).
A failed turn charges no chat_turn part, only services the tools completed, and stores no
reply; a provider failure (after agent.provider_retry's bounded retries) is LLMUnavailable.
emit() failing (a client gone) never stops the turn: it is finished, stored and billed.
"""

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent import state as conversation
from agent.graph import build_agent, out_of_steps
from agent.history import recent_history
from agent.model import chat_model, model_name
from agent.prompt import system_prompt
from agent.replies import after_charge_note
from agent.tokens import count_messages, count_text, install_offline_cache
from core import billing, ledger, referrals
from core.config import Settings
from core.db import in_transaction, reading
from core.goals import GoalNotFound, get_goal
from core.models import ChatMessage, TokenPricing
from core.models.enums import MessageRole
from core.nul import without_nul
from core.plain import decimal_text
from core.precompiled import pooled
from monitor.queue import Monitor
from tools.context import AgentContext

log = logging.getLogger(__name__)
Emit = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class TurnRequest:
    user_id: uuid.UUID
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    settings: Settings
    client_message_id: str
    content: str
    goal_id: uuid.UUID | None = None
    monitor: Monitor | None = None  # queues the first check of goals the turn created
    quote: billing.Quote | None = None  # read with the turn's lock (core.chat_gate); else now


@dataclass
class TurnOutcome:
    turn_id: uuid.UUID
    message_id: uuid.UUID
    user_message_id: uuid.UUID
    content: str
    tokens_used: int
    charged: Decimal
    token_balance: Decimal

    def frame(self) -> dict[str, Any]:
        """The protocol's assistant_message frame."""
        return {
            "type": "assistant_message",
            "turn_id": str(self.turn_id),
            "message_id": str(self.message_id),
            "content": self.content,
            "tokens_used": self.tokens_used,
            "charged": decimal_text(self.charged),
            "token_balance": decimal_text(self.token_balance),
        }


@dataclass
class TurnRecorder:
    """Turns the agent's stream into frames and remembers what the turn did."""

    turn_id: uuid.UUID
    emit: Emit
    conversation: list[BaseMessage]
    tool_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    streamed: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    content: str = ""
    model_calls: int = 0
    tokens: int = 0
    reported_by_provider: bool = True
    client_gone: bool = False

    async def send(self, frame: dict[str, Any]) -> None:
        if self.client_gone:
            return
        try:
            await self.emit({**frame, "turn_id": str(self.turn_id)})
        except Exception:
            # The turn goes on without the client; it is stored and shows in history.
            log.info("turn %s: client gone, finishing without it", self.turn_id)
            self.client_gone = True

    async def on_chunk(self, chunk: BaseMessage, meta: dict[str, Any]) -> None:
        from_model = meta.get("langgraph_node") == "model"
        if from_model and isinstance(chunk, AIMessageChunk) and chunk.text:
            self.streamed.add(chunk.id or "")
            await self.send({"type": "delta", "text": chunk.text})

    async def on_update(self, update: dict[str, Any]) -> None:
        for node, value in update.items():
            messages = value.get("messages", []) if isinstance(value, dict) else []
            for message in messages:
                # The model node hands back earlier messages with create_agent's repairs.
                if message.id in self.seen:
                    continue
                self.seen.add(message.id)
                if isinstance(message, AIMessage):
                    await self.on_ai(node, message)
                elif isinstance(message, ToolMessage):
                    await self.on_tool(message)
                self.conversation.append(message)

    async def on_ai(self, node: str, message: AIMessage) -> None:
        if node == "model" and not out_of_steps(message):
            self.model_calls += 1
            if message.usage_metadata:
                self.tokens += message.usage_metadata["total_tokens"]
            else:
                self.reported_by_provider = False
                self.tokens += count_messages(self.conversation) + count_messages([message])
        if message.text:
            self.content = message.text
            if message.id not in self.streamed:
                await self.send({"type": "delta", "text": message.text})
        for call in message.tool_calls:
            record = {"call_id": call["id"], "name": call["name"], "args": call["args"]}
            self.tool_calls[call["id"] or ""] = record
            await self.send({"type": "tool_call", **record})
        for bad in message.invalid_tool_calls:
            record = {"call_id": bad["id"], "name": bad["name"], "args": bad["args"]}
            error = (
                f"malformed tool call: {bad.get('error') or 'the arguments are not a JSON object'}"
            )
            self.tool_calls[bad["id"] or ""] = {**record, "ok": False, "error": error}
            await self.send({"type": "tool_call", **record})
            await self.send({"type": "tool_result", **record, "ok": False, "error": error})

    async def on_tool(self, message: ToolMessage) -> None:
        if "ok" in self.tool_calls.get(message.tool_call_id, {}):
            return  # a malformed call, already reported
        ok = message.status != "error"
        outcome: dict[str, Any] = {"ok": ok}
        if ok:
            try:
                outcome["result"] = json.loads(message.text)
            except ValueError:
                outcome["result"] = message.text
        else:
            outcome["error"] = message.text
        record = self.tool_calls.setdefault(message.tool_call_id, {"name": message.name})
        record.update(outcome)
        call = {"call_id": message.tool_call_id, "name": message.name}
        await self.send({"type": "tool_result", **call, **outcome})


@dataclass
class StartedTurn:
    asked_id: uuid.UUID  # the stored user message
    history: list[BaseMessage]
    state: conversation.State  # what the conversation showed so far (agent.state)
    chat_price: TokenPricing  # the chat_turn price quoted at the start, charged at the end
    balance: Decimal  # the balance then


async def quote_turn(request: TurnRequest) -> tuple[billing.Quote, TokenPricing]:
    """The balance and the chat_turn price the turn starts on: InsufficientBalance (or
    GoalNotFound for a goal_id not the user's) before any model call, nothing stored."""
    if request.quote is not None:  # read with the turn's lock, the goal with it (chat_gate)
        return request.quote, request.quote.chat_price()
    async with reading(request.sessions) as session:
        quote = billing.Quote(
            *await ledger.price_and_balance(session, billing.CHAT_TURN, request.user_id)
        )
        chat_price = quote.chat_price()
        if request.goal_id is not None:
            await get_goal(session, request.user_id, request.goal_id)
    return quote, chat_price


async def start_turn(request: TurnRequest, turn_id: uuid.UUID) -> StartedTurn:
    quote, chat_price = await quote_turn(request)
    tokens = count_text(request.content)
    asked_id = uuid.uuid4()
    asked = {
        "id": asked_id,
        "goal_id": request.goal_id,
        "role": MessageRole.USER,
        "content": request.content,
        "tokens_used": tokens,
        "meta_data": {
            "client_message_id": request.client_message_id,
            "turn_id": str(turn_id),
            "content_tokens": tokens,
        },
    }
    budget = request.settings.agent_history_tokens
    # The window before this message, and the message stored, in one statement.
    async with pooled(request.sessions) as conn:
        window = await recent_history(conn, request.user_id, budget, then_store=asked)
    return StartedTurn(asked_id, window.messages, window.state, chat_price, quote.balance)


# A Core INSERT built once: the ORM's unit of work (or building the statement each time)
# costs more than the row is worth here.
INSERT_MESSAGE = insert(ChatMessage.__table__)


async def store_message(session: AsyncSession, **values: Any) -> None:
    await session.execute(INSERT_MESSAGE, values)


async def run_turn(request: TurnRequest, emit: Emit) -> TurnOutcome:
    turn_id = uuid.uuid4()
    settings = request.settings
    install_offline_cache(settings.home / "tiktoken")  # before any token is counted
    started = await start_turn(request, turn_id)
    asked_id = started.asked_id
    model = chat_model(settings)
    agent = build_agent(model, settings.agent_max_model_calls)
    context = AgentContext(
        user_id=request.user_id,
        sessions=request.sessions,
        http=request.http,
        settings=settings,
        goal_id=request.goal_id,
    )
    prompt = [SystemMessage(system_prompt(request.goal_id, started.state)), *started.history]
    human = HumanMessage(content=request.content)
    recorder = TurnRecorder(turn_id, emit, [*prompt, human])
    ack = {"type": "ack", "id": request.client_message_id, "message_id": str(asked_id)}
    await recorder.send(ack)
    clock = time.perf_counter()
    try:
        async for mode, data in agent.astream(
            {"messages": [*prompt, human]},
            context=context,
            stream_mode=["messages", "updates", "custom"],
        ):
            if mode == "messages":
                await recorder.on_chunk(*data)
            elif mode == "updates":
                await recorder.on_update(data)
            else:  # frames written while a node runs: market_status, model_retry
                await recorder.send(data)
    except Exception as error:
        await settle_failed_turn(request, context, turn_id, asked_id, error)
        raise
    finally:
        if request.monitor is not None and context.new_goals:
            await request.monitor.check_soon(context.new_goals)
    latency_ms = round((time.perf_counter() - clock) * 1000, 1)
    return await finish_turn(request, context, recorder, started, model_name(model), latency_ms)


async def finish_turn(
    request: TurnRequest,
    context: AgentContext,
    recorder: TurnRecorder,
    started: StartedTurn,
    model: str,
    latency_ms: float,
) -> TurnOutcome:
    asked_id = started.asked_id
    # What the model says and the arguments it wrote are stored: NUL cannot be, so it goes.
    content = without_nul(recorder.content) or "Sorry, I have no answer to that."
    calls = without_nul(list(recorder.tool_calls.values()))
    summary = conversation.summary(calls)
    reply_id = uuid.uuid4()
    links = {
        "turn_id": str(recorder.turn_id),
        "user_message_id": str(asked_id),
        "assistant_message_id": str(reply_id),
    }
    meta = {
        **links,
        "client_message_id": request.client_message_id,
        "model": model,
        "latency_ms": latency_ms,
        "model_calls": recorder.model_calls,
        "usage_source": "model" if recorder.reported_by_provider else "tiktoken",
        "tool_calls": calls,
        "summary": summary,
        "state": conversation.after_turn(started.state, calls),
    }
    # A reply in the history was stored by a settlement that already settled the referral.
    first_reply = not any(isinstance(m, AIMessage) for m in started.history)

    def reply(charged: Decimal, balance: Decimal) -> billing.Reply:
        # The tools read the balance before this charge: the reply ends with it after.
        note = after_charge_note(charged, balance) if context.balance_asked else ""
        tokens = count_text(f"{content}{note}\n{summary}")  # as the history window reads it
        told = {"charged": decimal_text(charged), "content_tokens": tokens}
        return billing.Reply(reply_id, content + note, recorder.tokens, {**meta, **told})

    async def settle(session: AsyncSession) -> tuple[billing.Settlement, billing.Reply]:
        # First, so a referral this first turn pays is in the balance the settlement reports.
        if first_reply:
            max_referrals = request.settings.referral_max_per_day
            await referrals.settle_referral(session, request.user_id, max_referrals)
        goal_id = context.goal_id or await goal_named(session, request.user_id, recorder)
        settlement = await billing.settle_turn(
            session,
            request.user_id,
            tokens=recorder.tokens,
            services=context.services_used,
            goal_id=goal_id,
            meta=links,
            chat_price=started.chat_price,
        )
        stored = reply(settlement.charged, settlement.balance)
        booked = {
            "transaction_id": str(settlement.transaction_id),
            "token_balance": decimal_text(settlement.balance),
        }
        await store_message(
            session,
            id=reply_id,
            user_id=request.user_id,
            goal_id=goal_id,
            role=MessageRole.ASSISTANT,
            content=stored.content,
            tokens_used=recorder.tokens,
            meta_data={**stored.meta, **booked},
        )
        return settlement, stored

    settled = None
    if not (first_reply or context.goal_id or context.services_used or named_goals(recorder)):
        # Nothing but the charge and the reply: one statement, in autocommit.
        charge = ledger.cost(started.chat_price, recorder.tokens)
        alone = reply(charge, started.balance - charge)
        async with pooled(request.sessions) as conn:
            settlement = await billing.settle_with_reply(
                conn,
                request.user_id,
                tokens=recorder.tokens,
                chat_price=started.chat_price,
                meta=links,
                reply=alone,
                expected=started.balance if context.balance_asked else None,
            )
        settled = (settlement, alone) if settlement else None
    settlement, stored = settled or await in_transaction(request.sessions, settle)
    if stored.content != content:
        await recorder.send({"type": "delta", "text": stored.content[len(content) :]})
    return TurnOutcome(
        turn_id=recorder.turn_id,
        message_id=reply_id,
        user_message_id=asked_id,
        content=stored.content,
        tokens_used=recorder.tokens,
        charged=settlement.charged,
        token_balance=settlement.balance,
    )


def named_goals(recorder: TurnRecorder) -> list[str]:
    """The goal ids the turn's successful tool calls named."""
    named = []
    for call in recorder.tool_calls.values():
        args = call.get("args")
        if call.get("ok") and isinstance(args, dict) and args.get("goal_id"):
            named.append(str(args["goal_id"]))
    return named


async def goal_named(
    session: AsyncSession, user_id: uuid.UUID, recorder: TurnRecorder
) -> uuid.UUID | None:
    """The goal a successful tool call of this turn named, if it is this user's."""
    for named in named_goals(recorder):
        try:
            return (await get_goal(session, user_id, uuid.UUID(named))).id
        except (ValueError, GoalNotFound):
            continue
    return None


async def settle_failed_turn(
    request: TurnRequest,
    context: AgentContext,
    turn_id: uuid.UUID,
    asked_id: uuid.UUID,
    error: BaseException,
) -> None:
    """No charge for the model; services the tools completed before the failure are paid."""
    log.warning("turn %s failed: %r", turn_id, error)
    if not context.services_used:
        return
    meta = {"turn_id": str(turn_id), "user_message_id": str(asked_id), "failed": repr(error)}
    await in_transaction(
        request.sessions,
        lambda session: billing.settle_turn(
            session,
            request.user_id,
            tokens=None,
            services=context.services_used,
            goal_id=context.goal_id,
            meta=meta,
        ),
    )


async def find_turn(
    sessions: async_sessionmaker[AsyncSession], user_id: uuid.UUID, client_message_id: str
) -> TurnOutcome | None:
    """The stored outcome of this user's turn for that client message id, if it finished."""
    async with sessions() as session:
        reply = await session.scalar(
            select(ChatMessage).where(
                ChatMessage.user_id == user_id,
                ChatMessage.role == MessageRole.ASSISTANT,
                ChatMessage.meta_data["client_message_id"].astext == client_message_id,
            )
        )
    if reply is None:
        return None
    meta = reply.meta_data
    return TurnOutcome(
        turn_id=uuid.UUID(meta["turn_id"]),
        message_id=reply.id,
        user_message_id=uuid.UUID(meta["user_message_id"]),
        content=reply.content,
        tokens_used=reply.tokens_used,
        charged=Decimal(meta["charged"]),
        token_balance=Decimal(meta["token_balance"]),
    )
