"""deals found for a goal, and price_tracking: every price observation of a deal."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, MetaData, Money, Percent, Timestamp, UpdatedAt, UUIDPk
from core.models.enums import DealSource, DealStatus, MarketCategory

USD = text("'USD'::character varying")


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_goal_status", "goal_id", "status"),
        Index("ix_deals_market_status", "market_id", "status"),
        Index("ix_deals_category", "category"),
        Index("ix_deals_source", "source"),
        Index("ix_deals_url", "url"),
        # Added by migration 0002: the upsert key and the full-text index (core/deals.py).
        Index("uq_deals_goal_url", "goal_id", "url", unique=True),
        Index(
            "ix_deals_fts",
            text(
                "to_tsvector('english'::regconfig, "
                "coalesce(title, '') || ' ' || coalesce(description, ''))"
            ),
            postgresql_using="gin",
        ),
        # Added by migration 0007: query_deals ranks a page's ids from it alone.
        Index(
            "ix_deals_goal_listing",
            "goal_id",
            postgresql_include=[
                "id",
                "status",
                "current_price",
                "discount_percent",
                "category",
                "market_id",
                "found_at",
            ],
        ),
    )

    id: Mapped[UUIDPk]
    goal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"))
    market_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    current_price: Mapped[Money]
    original_price: Mapped[Money | None]
    currency: Mapped[str] = mapped_column(String(3), server_default=USD)
    discount_percent: Mapped[Percent | None]
    category: Mapped[MarketCategory]
    source: Mapped[DealSource]
    status: Mapped[DealStatus] = mapped_column(server_default=text("'active'::dealstatus"))
    seller_name: Mapped[str | None] = mapped_column(String(255))
    seller_rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    availability_status: Mapped[str | None] = mapped_column(String(50))
    shipping_info: Mapped[dict[str, Any] | None]
    product_specs: Mapped[dict[str, Any] | None]
    found_at: Mapped[Timestamp]
    expires_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]
    meta_data: Mapped[MetaData]


class PriceTracking(Base):
    __tablename__ = "price_tracking"
    __table_args__ = (
        Index("ix_price_tracking_deal", "deal_id"),
        Index("ix_price_tracking_source", "source"),
    )

    id: Mapped[UUIDPk]
    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    price: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3), server_default=USD)
    source: Mapped[DealSource]
    tracked_at: Mapped[Timestamp]
    meta_data: Mapped[MetaData]
