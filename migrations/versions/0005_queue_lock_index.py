"""monitor: an index on the queue's job locks, so a worker fetches its next job without
reading every waiting job's lock

procrastinate_fetch_job_v2 takes a waiting job only if no running job, nor an earlier
waiting one, holds its lock; procrastinate's own indexes find those by (id, lock) or by a
lock held while running, so each fetch read the whole (id, lock) index of waiting jobs:
milliseconds for 10,000 queued checks, seconds while the table's statistics lag behind a
burst. This one answers it by the lock.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "procrastinate"  # migration 0004's


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX procrastinate_jobs_lock_todo_doing ON {SCHEMA}.procrastinate_jobs "
        "(lock) WHERE status IN ('todo', 'doing') AND lock IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {SCHEMA}.procrastinate_jobs_lock_todo_doing")
