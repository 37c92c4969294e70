"""chat: client message id lookups, and notifications announced with NOTIFY

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must stay core.notifications.CHANNEL: every server process LISTENs there.
CHANNEL = "dealagent_notifications"


def upgrade() -> None:
    # A turn starts by looking for the user's earlier message with the same client id.
    op.execute(
        "CREATE INDEX ix_chat_messages_client_id "
        "ON chat_messages (user_id, (meta_data->>'client_message_id'))"
    )
    # Whoever inserts a notification, the user's open sockets hear of it (on commit).
    op.execute(
        f"""
        CREATE FUNCTION notify_notification_created() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}',
                json_build_object('id', NEW.id, 'user_id', NEW.user_id)::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER tr_notifications_notify AFTER INSERT ON notifications "
        "FOR EACH ROW EXECUTE FUNCTION notify_notification_created()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS tr_notifications_notify ON notifications")
    op.execute("DROP FUNCTION IF EXISTS notify_notification_created()")
    op.execute("DROP INDEX IF EXISTS ix_chat_messages_client_id")
