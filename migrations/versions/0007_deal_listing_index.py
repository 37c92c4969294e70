"""deals: a covering index for query_deals, so a page's ids are ranked from the index alone

query_deals (the query_deals tool and GET /api/v1/deals) filters a user's deals by status,
price, discount, category and market and sorts them by price, discount or age. Through
ix_deals_goal_status it read every deal of the user's goals from the table (1,000 rows on
1,000 pages for a user with 10 goals of 100 deals) to keep a page of 20. This index holds
every column those filters and sorts read, so core.deals ranks the ids by an index-only
scan and reads only the page's rows. Index-only scans skip the table for pages the
visibility map marks all-visible (autovacuum keeps it); the price, discount and status
it holds make an update of those columns write this index too (no HOT update).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must stay what core.deals.deals_statement's ranking reads (filters, sort keys, the id).
INCLUDED = "id, status, current_price, discount_percent, category, market_id, found_at"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_deals_goal_listing ON deals (goal_id) INCLUDE ({INCLUDED})")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_deals_goal_listing")
