"""deal upsert and full-text search indexes

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must stay identical to core.deals.DEAL_DOCUMENT, or query_deals' text filter cannot use it.
DOCUMENT = (
    "to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || coalesce(description, ''))"
)


def upgrade() -> None:
    # One deal per goal and url: record_offers upserts on it (ON CONFLICT (goal_id, url)).
    op.execute("CREATE UNIQUE INDEX uq_deals_goal_url ON deals (goal_id, url)")
    op.execute(f"CREATE INDEX ix_deals_fts ON deals USING gin (({DOCUMENT}))")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_deals_fts")
    op.execute("DROP INDEX IF EXISTS uq_deals_goal_url")
