"""sessions: access tokens revoked, expired or deleted and users whose status changed are
announced with NOTIFY, so every server process ends the open sockets they no longer allow

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
# 0005 is taken on another branch; whichever merges second chains after the other.
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must stay core.auth.SESSION_CHANNEL: every server process LISTENs there.
CHANNEL = "dealagent_sessions"


def upgrade() -> None:
    # The payload names the user only: each of the user's sockets then checks its own token.
    # Identical payloads of one transaction are delivered once, so a logout of many tokens
    # is one notice.
    op.execute(
        f"""
        CREATE FUNCTION notify_session_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            changed uuid;
        BEGIN
            IF TG_TABLE_NAME = 'users' THEN
                changed := OLD.id;
            ELSE
                changed := OLD.user_id;
            END IF;
            PERFORM pg_notify('{CHANNEL}', json_build_object('user_id', changed)::text);
            RETURN NULL;
        END
        $$
        """
    )
    # Whoever changes the rows (logout, refresh-token reuse, password reset, an operator's
    # plain UPDATE, a user deleted with their tokens), the sockets hear of it on commit.
    op.execute(
        "CREATE TRIGGER tr_auth_tokens_session_end AFTER UPDATE OF status ON auth_tokens "
        "FOR EACH ROW WHEN (OLD.token_type = 'access' AND OLD.status = 'active' "
        "AND NEW.status <> 'active') EXECUTE FUNCTION notify_session_change()"
    )
    op.execute(
        "CREATE TRIGGER tr_auth_tokens_session_gone AFTER DELETE ON auth_tokens "
        "FOR EACH ROW WHEN (OLD.token_type = 'access' AND OLD.status = 'active') "
        "EXECUTE FUNCTION notify_session_change()"
    )
    op.execute(
        "CREATE TRIGGER tr_users_session_status AFTER UPDATE OF status ON users "
        "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) "
        "EXECUTE FUNCTION notify_session_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS tr_users_session_status ON users")
    op.execute("DROP TRIGGER IF EXISTS tr_auth_tokens_session_gone ON auth_tokens")
    op.execute("DROP TRIGGER IF EXISTS tr_auth_tokens_session_end ON auth_tokens")
    op.execute("DROP FUNCTION IF EXISTS notify_session_change()")
