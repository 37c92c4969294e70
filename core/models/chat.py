"""chat_messages: every stored turn of every conversation."""

import uuid

from sqlalchemy import ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, MetaData, Timestamp, UUIDPk
from core.models.enums import MessageRole


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_user", "user_id"),
        Index("ix_chat_messages_goal", "goal_id"),
        Index("ix_chat_messages_role", "role"),
    )

    id: Mapped[UUIDPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goals.id", ondelete="SET NULL"))
    role: Mapped[MessageRole]
    content: Mapped[str] = mapped_column(Text)
    tokens_used: Mapped[int] = mapped_column(server_default=text("0"))
    created_at: Mapped[Timestamp]
    meta_data: Mapped[MetaData]
