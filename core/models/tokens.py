"""The token ledger: token_transactions, token_balance_history and token_pricing."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, MetaData, Timestamp, TokenAmount, UpdatedAt, UUIDPk
from core.models.enums import BalanceChangeType, TransactionStatus, TransactionType


class TokenTransaction(Base):
    __tablename__ = "token_transactions"
    __table_args__ = (
        Index("ix_token_transactions_user", "user_id"),
        Index("ix_token_transactions_type", "type"),
        Index("ix_token_transactions_status", "status"),
        Index("ix_token_transactions_hash", "tx_hash"),
    )

    id: Mapped[UUIDPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[TransactionType]
    amount: Mapped[TokenAmount]
    status: Mapped[TransactionStatus] = mapped_column(
        server_default=text("'pending'::transactionstatus")
    )
    description: Mapped[str | None] = mapped_column(Text)
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goals.id", ondelete="SET NULL"))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]
    meta_data: Mapped[MetaData]


class TokenBalanceHistory(Base):
    __tablename__ = "token_balance_history"
    __table_args__ = (
        Index("ix_token_balance_history_user", "user_id"),
        Index("ix_token_balance_history_type", "change_type"),
    )

    id: Mapped[UUIDPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    balance_before: Mapped[TokenAmount]
    balance_after: Mapped[TokenAmount]
    change_amount: Mapped[TokenAmount]
    change_type: Mapped[BalanceChangeType]
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("token_transactions.id", ondelete="SET NULL")
    )
    created_at: Mapped[Timestamp]
    meta_data: Mapped[MetaData]


class TokenPricing(Base):
    __tablename__ = "token_pricing"
    __table_args__ = (
        Index("ix_token_pricing_service", "service_type"),
        Index("ix_token_pricing_active", "is_active"),
        Index("ix_token_pricing_validity", "valid_from", "valid_to"),
    )

    id: Mapped[UUIDPk]
    service_type: Mapped[str] = mapped_column(String(50))
    token_cost: Mapped[TokenAmount]
    min_tokens: Mapped[int] = mapped_column(server_default=text("1"))
    max_tokens: Mapped[int | None]
    valid_from: Mapped[Timestamp]
    valid_to: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]
    meta_data: Mapped[MetaData]
