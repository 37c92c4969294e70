"""The conversation window the model sees: recent messages within a token budget."""

import uuid

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.tokens import count_text
from core.models import ChatMessage
from core.models.enums import MessageRole

# More than any budget fits; bounds the query.
MAX_MESSAGES = 60
# Only the columns the window needs: whole rows (meta_data with its tool calls) cost far
# more to load than the window is worth. Built once, as building it costs more than running it.
WINDOW = (
    select(ChatMessage.role, ChatMessage.content, ChatMessage.meta_data["content_tokens"])
    .where(
        ChatMessage.user_id == bindparam("user_id", type_=ChatMessage.__table__.c.user_id.type),
        ChatMessage.role.in_((MessageRole.USER, MessageRole.ASSISTANT)),
    )
    .order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc())
    .limit(MAX_MESSAGES)
)


def content_tokens(content: str, stored: object) -> int:
    """Stored with each message when written, so the window costs no tokenizing."""
    return stored if isinstance(stored, int) else count_text(content)


async def recent_history(
    session: AsyncSession, user_id: uuid.UUID, budget_tokens: int
) -> list[BaseMessage]:
    """Newest messages first until the budget is spent, returned oldest first.

    The system prompt is not part of this window: the agent always adds it.
    """
    rows = await session.execute(WINDOW, {"user_id": user_id})
    window: list[BaseMessage] = []
    spent = 0
    for role, content, stored in rows:
        spent += content_tokens(content, stored) + 4
        if spent > budget_tokens:
            break
        kind = HumanMessage if role == MessageRole.USER else AIMessage
        window.append(kind(content=content))
    window.reverse()
    return window
