"""markets: one row per marketplace, with its endpoint, rate limit and health."""

from datetime import datetime

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, MetaData, Timestamp, UpdatedAt, UUIDPk
from core.models.enums import MarketStatus, MarketType


class Market(Base):
    __tablename__ = "markets"
    __table_args__ = (
        Index("ix_markets_type_status", "type", "status"),
        Index("ix_markets_name", "name"),
    )

    id: Mapped[UUIDPk]
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[MarketType]
    status: Mapped[MarketStatus] = mapped_column(server_default=text("'active'::marketstatus"))
    base_url: Mapped[str] = mapped_column(Text)
    api_endpoint: Mapped[str | None] = mapped_column(Text)
    api_key: Mapped[str | None] = mapped_column(Text)
    rate_limit: Mapped[int | None]
    rate_limit_window: Mapped[int | None]
    current_rate: Mapped[int] = mapped_column(server_default=text("0"))
    last_rate_reset: Mapped[datetime | None]
    error_count: Mapped[int] = mapped_column(server_default=text("0"))
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]
    meta_data: Mapped[MetaData]
