"""initial schema from the seed

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:23:15.802494
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose updated_at a trigger keeps current on every UPDATE, whoever issues it.
UPDATED_AT_TABLES = (
    "users",
    "auth_tokens",
    "goals",
    "markets",
    "deals",
    "notifications",
    "token_transactions",
    "token_pricing",
)
ENUM_TYPES = (
    "userstatus",
    "notificationpriority",
    "notificationstatus",
    "notificationtype",
    "marketcategory",
    "markettype",
    "marketstatus",
    "goalstatus",
    "goalpriority",
    "dealstatus",
    "dealsource",
    "tokentype",
    "tokenstatus",
    "tokenscope",
    "transactiontype",
    "transactionstatus",
    "balancechangetype",
    "messagerole",
)


def upgrade() -> None:
    op.create_table(
        "markets",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "type",
            sa.Enum("amazon", "walmart", "ebay", "target", "bestbuy", name="markettype"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active", "inactive", "maintenance", "rate_limited", "error", name="marketstatus"
            ),
            server_default=sa.text("'active'::marketstatus"),
            nullable=False,
        ),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("api_endpoint", sa.Text(), nullable=True),
        sa.Column("api_key", sa.Text(), nullable=True),
        sa.Column("rate_limit", sa.Integer(), nullable=True),
        sa.Column("rate_limit_window", sa.Integer(), nullable=True),
        sa.Column("current_rate", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_rate_reset", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_markets_name", "markets", ["name"], unique=False)
    op.create_index("ix_markets_type_status", "markets", ["type", "status"], unique=False)
    op.create_table(
        "model_metrics",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("model_name", sa.String(length=50), nullable=False),
        sa.Column("model_version", sa.String(length=50), nullable=False),
        sa.Column("accuracy", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("precision", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("recall", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("f1_score", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("training_duration", sa.Integer(), nullable=False),
        sa.Column("training_samples", sa.Integer(), nullable=False),
        sa.Column("validation_samples", sa.Integer(), nullable=False),
        sa.Column(
            "hyperparameters",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "feature_importance",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_metrics_created", "model_metrics", ["created_at"], unique=False)
    op.create_index(
        "ix_model_metrics_name_version",
        "model_metrics",
        ["model_name", "model_version"],
        unique=False,
    )
    op.create_table(
        "token_pricing",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("service_type", sa.String(length=50), nullable=False),
        sa.Column("token_cost", sa.Numeric(precision=18, scale=8), nullable=False),
        sa.Column("min_tokens", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("max_tokens", sa.Integer(), nullable=True),
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_token_pricing_active", "token_pricing", ["is_active"], unique=False)
    op.create_index("ix_token_pricing_service", "token_pricing", ["service_type"], unique=False)
    op.create_index(
        "ix_token_pricing_validity", "token_pricing", ["valid_from", "valid_to"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("sol_address", sa.String(length=44), nullable=True),
        sa.Column("referral_code", sa.String(length=10), nullable=True),
        sa.Column("referred_by", sa.Uuid(), nullable=True),
        sa.Column(
            "token_balance",
            sa.Numeric(precision=18, scale=8),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "preferences",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("active", "inactive", "suspended", "deleted", name="userstatus"),
            server_default=sa.text("'active'::userstatus"),
            nullable=False,
        ),
        sa.Column(
            "notification_channels",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[\"in_app\"]'::jsonb"),
            nullable=False,
        ),
        sa.Column("email_verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("social_provider", sa.String(length=50), nullable=True),
        sa.Column("social_id", sa.String(length=255), nullable=True),
        sa.Column("last_payment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active_goals_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_deals_found", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "success_rate",
            sa.Numeric(precision=5, scale=4),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "total_tokens_spent",
            sa.Numeric(precision=18, scale=8),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "total_rewards_earned",
            sa.Numeric(precision=18, scale=8),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("token_balance >= 0", name="ch_positive_balance"),
        sa.ForeignKeyConstraint(["referred_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", name="uq_user_email"),
        sa.UniqueConstraint("referral_code", name="uq_user_referral"),
        sa.UniqueConstraint("sol_address", name="uq_user_wallet"),
    )
    op.create_index("ix_users_email_status", "users", ["email", "status"], unique=False)
    op.create_index("ix_users_referral", "users", ["referral_code"], unique=False)
    op.create_index("ix_users_wallet", "users", ["sol_address"], unique=False)
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column(
            "token_type", sa.Enum("access", "refresh", "reset", name="tokentype"), nullable=False
        ),
        sa.Column(
            "status",
            sa.Enum("active", "expired", "revoked", name="tokenstatus"),
            server_default=sa.text("'active'::tokenstatus"),
            nullable=False,
        ),
        sa.Column(
            "scope",
            sa.Enum("full", "limited", "read", name="tokenscope"),
            server_default=sa.text("'full'::tokenscope"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_auth_tokens_status", "auth_tokens", ["status"], unique=False)
    op.create_index("ix_auth_tokens_token", "auth_tokens", ["token"], unique=False)
    op.create_index("ix_auth_tokens_user", "auth_tokens", ["user_id"], unique=False)
    op.create_table(
        "goals",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "electronics",
                "fashion",
                "home",
                "books",
                "toys",
                "sports",
                "automotive",
                "health",
                "beauty",
                "grocery",
                "other",
                name="marketcategory",
            ),
            nullable=False,
        ),
        sa.Column(
            "constraints",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "paused",
                "completed",
                "cancelled",
                "failed",
                "expired",
                "error",
                name="goalstatus",
            ),
            server_default=sa.text("'active'::goalstatus"),
            nullable=False,
        ),
        sa.Column(
            "priority",
            sa.Enum("high", "medium", "low", name="goalpriority"),
            server_default=sa.text("'medium'::goalpriority"),
            nullable=False,
        ),
        sa.Column(
            "start_date",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_budget", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("min_discount_percent", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("target_price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("notification_threshold", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("auto_buy_threshold", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("max_matches", sa.Integer(), nullable=True),
        sa.Column("max_tokens", sa.Numeric(precision=18, scale=8), nullable=True),
        sa.Column(
            "total_tokens_spent",
            sa.Numeric(precision=18, scale=8),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column("total_matches_found", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_goals_category", "goals", ["category"], unique=False)
    op.create_index("ix_goals_priority", "goals", ["priority"], unique=False)
    op.create_index("ix_goals_user_status", "goals", ["user_id", "status"], unique=False)
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("goal_id", sa.Uuid(), nullable=True),
        sa.Column(
            "role", sa.Enum("user", "assistant", "system", name="messagerole"), nullable=False
        ),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tokens_used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["goal_id"], ["goals.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_chat_messages_goal", "chat_messages", ["goal_id"], unique=False)
    op.create_index("ix_chat_messages_role", "chat_messages", ["role"], unique=False)
    op.create_index("ix_chat_messages_user", "chat_messages", ["user_id"], unique=False)
    op.create_table(
        "deals",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("goal_id", sa.Uuid(), nullable=False),
        sa.Column("market_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("current_price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("original_price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "currency",
            sa.String(length=3),
            server_default=sa.text("'USD'::character varying"),
            nullable=False,
        ),
        sa.Column("discount_percent", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "electronics",
                "fashion",
                "home",
                "books",
                "toys",
                "sports",
                "automotive",
                "health",
                "beauty",
                "grocery",
                "other",
                name="marketcategory",
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "amazon",
                "walmart",
                "ebay",
                "target",
                "bestbuy",
                "manual",
                "api",
                "scraper",
                "user",
                "agent",
                name="dealsource",
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "active", "expired", "sold_out", "invalid", "deleted", name="dealstatus"
            ),
            server_default=sa.text("'active'::dealstatus"),
            nullable=False,
        ),
        sa.Column("seller_name", sa.String(length=255), nullable=True),
        sa.Column("seller_rating", sa.Numeric(precision=3, scale=2), nullable=True),
        sa.Column("availability_status", sa.String(length=50), nullable=True),
        sa.Column("shipping_info", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("product_specs", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "found_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["goal_id"], ["goals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["market_id"], ["markets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deals_category", "deals", ["category"], unique=False)
    op.create_index("ix_deals_goal_status", "deals", ["goal_id", "status"], unique=False)
    op.create_index("ix_deals_market_status", "deals", ["market_id", "status"], unique=False)
    op.create_index("ix_deals_source", "deals", ["source"], unique=False)
    op.create_index("ix_deals_url", "deals", ["url"], unique=False)
    op.create_table(
        "token_transactions",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "type", sa.Enum("deduction", "reward", "refund", name="transactiontype"), nullable=False
        ),
        sa.Column("amount", sa.Numeric(precision=18, scale=8), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "completed", "failed", "cancelled", name="transactionstatus"),
            server_default=sa.text("'pending'::transactionstatus"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("goal_id", sa.Uuid(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["goal_id"], ["goals.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_token_transactions_hash", "token_transactions", ["tx_hash"], unique=False)
    op.create_index("ix_token_transactions_status", "token_transactions", ["status"], unique=False)
    op.create_index("ix_token_transactions_type", "token_transactions", ["type"], unique=False)
    op.create_index("ix_token_transactions_user", "token_transactions", ["user_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "system",
                "deal",
                "goal",
                "price_alert",
                "token",
                "security",
                "market",
                name="notificationtype",
            ),
            nullable=False,
        ),
        sa.Column(
            "priority",
            sa.Enum("critical", "high", "medium", "low", name="notificationpriority"),
            server_default=sa.text("'medium'::notificationpriority"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("pending", "sent", "delivered", "read", "failed", name="notificationstatus"),
            server_default=sa.text("'pending'::notificationstatus"),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("goal_id", sa.Uuid(), nullable=True),
        sa.Column("deal_id", sa.Uuid(), nullable=True),
        sa.Column("action_url", sa.Text(), nullable=True),
        sa.Column(
            "channels",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[\"in_app\"]'::jsonb"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["goal_id"], ["goals.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notifications_priority", "notifications", ["priority"], unique=False)
    op.create_index("ix_notifications_type", "notifications", ["type"], unique=False)
    op.create_index(
        "ix_notifications_user_status", "notifications", ["user_id", "status"], unique=False
    )
    op.create_table(
        "price_tracking",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column(
            "currency",
            sa.String(length=3),
            server_default=sa.text("'USD'::character varying"),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "amazon",
                "walmart",
                "ebay",
                "target",
                "bestbuy",
                "manual",
                "api",
                "scraper",
                "user",
                "agent",
                name="dealsource",
            ),
            nullable=False,
        ),
        sa.Column(
            "tracked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_price_tracking_deal", "price_tracking", ["deal_id"], unique=False)
    op.create_index("ix_price_tracking_source", "price_tracking", ["source"], unique=False)
    op.create_table(
        "token_balance_history",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("balance_before", sa.Numeric(precision=18, scale=8), nullable=False),
        sa.Column("balance_after", sa.Numeric(precision=18, scale=8), nullable=False),
        sa.Column("change_amount", sa.Numeric(precision=18, scale=8), nullable=False),
        sa.Column(
            "change_type",
            sa.Enum("deduction", "reward", "refund", name="balancechangetype"),
            nullable=False,
        ),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["transaction_id"], ["token_transactions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_token_balance_history_type", "token_balance_history", ["change_type"], unique=False
    )
    op.create_index(
        "ix_token_balance_history_user", "token_balance_history", ["user_id"], unique=False
    )

    op.execute(
        "CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.updated_at = clock_timestamp(); RETURN NEW; END $$"
    )
    for table in UPDATED_AT_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )


def downgrade() -> None:
    op.execute("DROP FUNCTION set_updated_at() CASCADE")
    op.drop_index("ix_token_balance_history_user", table_name="token_balance_history")
    op.drop_index("ix_token_balance_history_type", table_name="token_balance_history")
    op.drop_table("token_balance_history")
    op.drop_index("ix_price_tracking_source", table_name="price_tracking")
    op.drop_index("ix_price_tracking_deal", table_name="price_tracking")
    op.drop_table("price_tracking")
    op.drop_index("ix_notifications_user_status", table_name="notifications")
    op.drop_index("ix_notifications_type", table_name="notifications")
    op.drop_index("ix_notifications_priority", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_token_transactions_user", table_name="token_transactions")
    op.drop_index("ix_token_transactions_type", table_name="token_transactions")
    op.drop_index("ix_token_transactions_status", table_name="token_transactions")
    op.drop_index("ix_token_transactions_hash", table_name="token_transactions")
    op.drop_table("token_transactions")
    op.drop_index("ix_deals_url", table_name="deals")
    op.drop_index("ix_deals_source", table_name="deals")
    op.drop_index("ix_deals_market_status", table_name="deals")
    op.drop_index("ix_deals_goal_status", table_name="deals")
    op.drop_index("ix_deals_category", table_name="deals")
    op.drop_table("deals")
    op.drop_index("ix_chat_messages_user", table_name="chat_messages")
    op.drop_index("ix_chat_messages_role", table_name="chat_messages")
    op.drop_index("ix_chat_messages_goal", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_index("ix_goals_user_status", table_name="goals")
    op.drop_index("ix_goals_priority", table_name="goals")
    op.drop_index("ix_goals_category", table_name="goals")
    op.drop_table("goals")
    op.drop_index("ix_auth_tokens_user", table_name="auth_tokens")
    op.drop_index("ix_auth_tokens_token", table_name="auth_tokens")
    op.drop_index("ix_auth_tokens_status", table_name="auth_tokens")
    op.drop_table("auth_tokens")
    op.drop_index("ix_users_wallet", table_name="users")
    op.drop_index("ix_users_referral", table_name="users")
    op.drop_index("ix_users_email_status", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_token_pricing_validity", table_name="token_pricing")
    op.drop_index("ix_token_pricing_service", table_name="token_pricing")
    op.drop_index("ix_token_pricing_active", table_name="token_pricing")
    op.drop_table("token_pricing")
    op.drop_index("ix_model_metrics_name_version", table_name="model_metrics")
    op.drop_index("ix_model_metrics_created", table_name="model_metrics")
    op.drop_table("model_metrics")
    op.drop_index("ix_markets_type_status", table_name="markets")
    op.drop_index("ix_markets_name", table_name="markets")
    op.drop_table("markets")
    for name in ENUM_TYPES:
        op.execute(f"DROP TYPE {name}")
