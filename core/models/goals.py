"""goals: what a user asked the agent to watch for."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import (
    Base,
    MetaData,
    Money,
    Percent,
    Timestamp,
    TokenAmount,
    UpdatedAt,
    UUIDPk,
)
from core.models.enums import GoalPriority, GoalStatus, MarketCategory


class Goal(Base):
    __tablename__ = "goals"
    __table_args__ = (
        Index("ix_goals_user_status", "user_id", "status"),
        Index("ix_goals_category", "category"),
        Index("ix_goals_priority", "priority"),
    )

    id: Mapped[UUIDPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[MarketCategory]
    constraints: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    status: Mapped[GoalStatus] = mapped_column(server_default=text("'active'::goalstatus"))
    priority: Mapped[GoalPriority] = mapped_column(server_default=text("'medium'::goalpriority"))
    start_date: Mapped[Timestamp]
    end_date: Mapped[datetime | None]
    max_budget: Mapped[Money | None]
    min_discount_percent: Mapped[Percent | None]
    target_price: Mapped[Money | None]
    notification_threshold: Mapped[Percent | None]
    auto_buy_threshold: Mapped[Percent | None]
    max_matches: Mapped[int | None]
    max_tokens: Mapped[TokenAmount | None]
    total_tokens_spent: Mapped[TokenAmount] = mapped_column(server_default=text("0"))
    total_matches_found: Mapped[int] = mapped_column(server_default=text("0"))
    last_checked_at: Mapped[datetime | None]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]
    meta_data: Mapped[MetaData]
