"""monitor: procrastinate's job queue, in a schema of its own; notifications queue their
email and webhook deliveries

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must stay monitor.queue.QUEUE_SCHEMA. A schema apart keeps the seed's `public` exactly
# the seed's; the queue's connections put it first on their search_path.
SCHEMA = "procrastinate"
# Must stay monitor.queue's names for the delivery task and its queue.
DELIVER_TASK = "deliver_notification"
QUEUE = "monitor"


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA {SCHEMA}")
    op.execute(f"SET LOCAL search_path TO {SCHEMA}, public")
    # The installed procrastinate's own schema (pinned in pyproject.toml): a newer
    # procrastinate brings its migration files, applied by a migration of ours.
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
    op.execute("SET LOCAL search_path TO public")
    # Whoever inserts a notification for email or webhook, its delivery job is queued in
    # the same transaction: no delivery is lost between a commit and a deferral. The SET
    # clause lets procrastinate's own triggers on its jobs table find their tables.
    op.execute(
        f"""
        CREATE FUNCTION queue_notification_delivery() RETURNS trigger
        LANGUAGE plpgsql SET search_path = {SCHEMA}, public AS $$
        BEGIN
            INSERT INTO {SCHEMA}.procrastinate_jobs (queue_name, task_name, priority, args)
            VALUES ('{QUEUE}', '{DELIVER_TASK}', 5,
                    jsonb_build_object('notification_id', NEW.id::text));
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER tr_notifications_deliver AFTER INSERT ON notifications FOR EACH ROW "
        "WHEN (NEW.channels ?| array['email', 'webhook']) "
        "EXECUTE FUNCTION queue_notification_delivery()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS tr_notifications_deliver ON notifications")
    op.execute("DROP FUNCTION IF EXISTS queue_notification_delivery()")
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
