"""Email and webhook delivery of one notification (in_app is the sockets' push).

Each channel is tried until it has gone out once; what went out is kept in
meta_data.delivery, so a retry sends only what is still missing. A failure worth another
try raises DeliveryRetry and the queue runs the job again with backoff; after the last
try the notification is `failed`, unless a person already got it in the app.
"""

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from core import notifications
from core.db import reading
from core.mailer import MailError
from core.models import Notification, User
from core.models.enums import NotificationStatus
from core.plain import jsonable
from markets.webhook import WebhookFailed, post_webhook
from monitor.check import MonitorDeps

log = logging.getLogger(__name__)
SENT = "sent"


class DeliveryRetry(Exception):
    """A channel failed in a way worth another try."""


def payload(row: Notification) -> dict[str, Any]:
    return jsonable({"type": row.type, **notifications.content(row)})


async def deliver(deps: MonitorDeps, notification_id: uuid.UUID, *, last_try: bool) -> None:
    async with reading(deps.sessions) as session:
        found = (
            await session.execute(
                select(Notification, User.email, User.preferences)
                .join(User, User.id == Notification.user_id)
                .where(Notification.id == notification_id)
            )
        ).one_or_none()
    if found is None:
        return
    row, email, preferences = found
    state: dict[str, Any] = dict(row.meta_data.get("delivery") or {})
    retry: list[str] = []
    for channel in ("email", "webhook"):
        if channel not in row.channels or state.get(channel) == SENT:
            continue
        try:
            await send(deps, channel, row, email, preferences)
            state[channel] = SENT
        except (MailError, WebhookFailed) as error:
            retryable = getattr(error, "retryable", True) and not last_try
            state[channel] = f"failed: {error}"[:300]
            log.warning("notification %s by %s failed: %s", row.id, channel, error)
            if retryable:
                retry.append(channel)
    await record(deps, row, state, gave_up=not retry)
    if retry:
        raise DeliveryRetry(", ".join(retry))


async def send(
    deps: MonitorDeps, channel: str, row: Notification, email: str, preferences: dict[str, Any]
) -> None:
    if channel == "email":
        body = f"{row.message}\n\n{row.action_url or ''}".strip()
        await deps.mailer.send(email, row.title, body)
        return
    url, secret = preferences.get("webhook_url"), preferences.get("webhook_secret")
    if not url or not secret:
        raise WebhookFailed("no webhook_url saved in preferences", retryable=False)
    await post_webhook(
        deps.http,
        url,
        secret,
        payload(row),
        timeout_s=deps.settings.webhook_timeout_s,
        allow_private=deps.settings.webhook_private_hosts,
    )


async def record(
    deps: MonitorDeps, row: Notification, state: dict[str, Any], *, gave_up: bool
) -> None:
    """Keep what went out; a notification no channel reached, and no person saw in the
    app, is `failed` once nothing more will be tried."""
    reached = any(value == SENT for value in state.values())
    values: dict[str, Any] = {
        "meta_data": Notification.meta_data.op("||")({"delivery": state}),
    }
    if reached:
        values["sent_at"] = datetime.now(UTC)
    async with deps.sessions() as session, session.begin():
        statement = update(Notification).where(Notification.id == row.id).values(**values)
        await session.execute(statement)
        if gave_up and not reached and "in_app" not in row.channels:
            await session.execute(
                update(Notification)
                .where(Notification.id == row.id, Notification.status == NotificationStatus.PENDING)
                .values(status=NotificationStatus.FAILED)
            )
