"""users and auth_tokens."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, MetaData, Ratio, Timestamp, TokenAmount, UpdatedAt, UUIDPk
from core.models.enums import TokenScope, TokenStatus, TokenType, UserStatus

ZERO = text("0")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("token_balance >= 0", name="ch_positive_balance"),
        UniqueConstraint("email", name="uq_user_email"),
        UniqueConstraint("sol_address", name="uq_user_wallet"),
        UniqueConstraint("referral_code", name="uq_user_referral"),
        Index("ix_users_email_status", "email", "status"),
        Index("ix_users_wallet", "sol_address"),
        Index("ix_users_referral", "referral_code"),
    )

    id: Mapped[UUIDPk]
    email: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    password: Mapped[str] = mapped_column(Text)
    sol_address: Mapped[str | None] = mapped_column(String(44))
    referral_code: Mapped[str | None] = mapped_column(String(10))
    referred_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    token_balance: Mapped[TokenAmount] = mapped_column(server_default=ZERO)
    preferences: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    status: Mapped[UserStatus] = mapped_column(server_default=text("'active'::userstatus"))
    notification_channels: Mapped[list[str]] = mapped_column(
        server_default=text("'[\"in_app\"]'::jsonb")
    )
    email_verified: Mapped[bool] = mapped_column(server_default=text("false"))
    social_provider: Mapped[str | None] = mapped_column(String(50))
    social_id: Mapped[str | None] = mapped_column(String(255))
    last_payment_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    active_goals_count: Mapped[int] = mapped_column(server_default=ZERO)
    total_deals_found: Mapped[int] = mapped_column(server_default=ZERO)
    success_rate: Mapped[Ratio] = mapped_column(server_default=ZERO)
    total_tokens_spent: Mapped[TokenAmount] = mapped_column(server_default=ZERO)
    total_rewards_earned: Mapped[TokenAmount] = mapped_column(server_default=ZERO)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]


class AuthToken(Base):
    __tablename__ = "auth_tokens"
    __table_args__ = (
        Index("ix_auth_tokens_user", "user_id"),
        Index("ix_auth_tokens_token", "token"),
        Index("ix_auth_tokens_status", "status"),
    )

    id: Mapped[UUIDPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(Text)
    token_type: Mapped[TokenType]
    status: Mapped[TokenStatus] = mapped_column(server_default=text("'active'::tokenstatus"))
    scope: Mapped[TokenScope] = mapped_column(server_default=text("'full'::tokenscope"))
    expires_at: Mapped[datetime]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]
    meta_data: Mapped[MetaData]
