"""The conversation window the model sees: recent messages within a token budget, each
reply with the summary of its tools' results, and the state the newest reply left."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from psycopg import AsyncConnection
from sqlalchemy import bindparam, insert, or_, select

from agent.tokens import MESSAGE_OVERHEAD_TOKENS, count_text
from core.models import ChatMessage
from core.models.enums import MessageRole
from core.precompiled import Precompiled

# More than any budget fits; bounds the query.
MAX_MESSAGES = 60
# Only the columns the window needs: whole rows (meta_data with its tool calls) cost far
# more to load than the window is worth. Built once, as building it costs more than running it.
COLUMNS = ChatMessage.__table__.c
USER = bindparam("user_id", type_=COLUMNS.user_id.type)
WINDOW = (
    select(
        ChatMessage.role,
        ChatMessage.content,
        ChatMessage.meta_data["content_tokens"],
        ChatMessage.meta_data["summary"].astext,
        ChatMessage.meta_data["state"],
    )
    .where(
        ChatMessage.user_id == USER,
        # Not IN (...): its list parameter is expanded at every execution.
        or_(ChatMessage.role == MessageRole.USER, ChatMessage.role == MessageRole.ASSISTANT),
    )
    .order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc())
    .limit(MAX_MESSAGES)
)
# The window, and a new message of the user's stored by the same statement (one round
# trip). A data-modifying CTE's row is not visible to its own statement's SELECT, so the
# window is the history before that message.
STORED = ("id", "goal_id", "role", "content", "tokens_used", "meta_data")
WINDOW_THEN_STORE = WINDOW.add_cte(
    insert(ChatMessage.__table__)
    .values(
        user_id=USER,
        **{name: bindparam(f"new_{name}", type_=COLUMNS[name].type) for name in STORED},
    )
    .cte("stored")
)

WINDOW_SQL = Precompiled.of(WINDOW)
WINDOW_THEN_STORE_SQL = Precompiled.of(WINDOW_THEN_STORE)


def content_tokens(content: str, stored: object) -> int:
    """Stored with each message when written, so the window costs no tokenizing."""
    return stored if isinstance(stored, int) else count_text(content)


@dataclass
class Window:
    messages: list[BaseMessage] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # agent.state, as the last reply left it


async def recent_history(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    budget_tokens: int,
    *,
    then_store: dict[str, Any] | None = None,
) -> Window:
    """Newest messages first until the budget is spent, returned oldest first.

    The system prompt is not part of this window: the agent always adds it. A reply's
    content_tokens count its summary too (agent.turn stores them so).
    """
    if then_store is None:
        rows = await WINDOW_SQL.rows(conn, {"user_id": user_id})
    else:  # `then_store`: the new message's STORED columns
        stored = {f"new_{name}": then_store[name] for name in STORED}
        rows = await WINDOW_THEN_STORE_SQL.rows(conn, {"user_id": user_id, **stored})
    window = Window()
    spent = 0
    for role, content, stored, summary, state in rows:
        if role == MessageRole.ASSISTANT and not window.state and isinstance(state, dict):
            window.state = state
        text = f"{content}\n{summary}" if summary else content
        spent += content_tokens(text, stored) + MESSAGE_OVERHEAD_TOKENS
        if spent > budget_tokens:
            break
        kind = HumanMessage if role == MessageRole.USER else AIMessage
        window.messages.append(kind(content=text))
    window.messages.reverse()
    return window
