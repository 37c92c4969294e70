"""notifications: matches, price drops and account events for a user."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, MetaData, Timestamp, UpdatedAt, UUIDPk
from core.models.enums import NotificationPriority, NotificationStatus, NotificationType


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_status", "user_id", "status"),
        Index("ix_notifications_type", "type"),
        Index("ix_notifications_priority", "priority"),
    )

    id: Mapped[UUIDPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[NotificationType]
    priority: Mapped[NotificationPriority] = mapped_column(
        server_default=text("'medium'::notificationpriority")
    )
    status: Mapped[NotificationStatus] = mapped_column(
        server_default=text("'pending'::notificationstatus")
    )
    title: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goals.id", ondelete="SET NULL"))
    deal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    action_url: Mapped[str | None] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(server_default=text("'[\"in_app\"]'::jsonb"))
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]
    meta_data: Mapped[MetaData]
