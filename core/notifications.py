"""Notifications for a user: creating them (announced to every server process through
PostgreSQL NOTIFY), the ones still to deliver, listing them, and the user's acknowledgement
and reading of them. The process's one LISTEN connection also hears of sessions to check
again (core.auth.SESSION_CHANNEL)."""

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import paging
from core.auth import SESSION_CHANNEL
from core.models.accounts import User
from core.models.enums import NotificationPriority, NotificationStatus, NotificationType
from core.models.notifications import Notification

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "dealagent_notifications"
UNDELIVERED = (NotificationStatus.PENDING, NotificationStatus.SENT)


async def create(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    type: NotificationType,
    title: str,
    message: str,
    priority: NotificationPriority = NotificationPriority.MEDIUM,
    goal_id: uuid.UUID | None = None,
    deal_id: uuid.UUID | None = None,
    action_url: str | None = None,
    channels: list[str] | None = None,
    meta: dict | None = None,
) -> Notification:
    """Add a notification in the caller's transaction. A trigger (migration 0003) announces
    every new row on CHANNEL when the transaction commits, whoever inserted it; another
    (migration 0004) queues its email and webhook deliveries in the same transaction.
    `channels`: the user's notification_channels, read here when not given."""
    if channels is None:
        channels = await channels_of(session, user_id)
    row = Notification(
        user_id=user_id,
        type=type,
        title=title,
        message=message,
        priority=priority,
        goal_id=goal_id,
        deal_id=deal_id,
        action_url=action_url,
        channels=channels,
        meta_data=meta or {},
    )
    session.add(row)
    await session.flush()
    return row


async def channels_of(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """Where the user wants notifications: users.notification_channels."""
    return await session.scalar(select(User.notification_channels).where(User.id == user_id))


def content(row: Notification) -> dict[str, Any]:
    """What a notification says, as every channel sends it (socket frame, webhook body)."""
    return {
        "id": row.id,
        "priority": row.priority,
        "title": row.title,
        "message": row.message,
        "goal_id": row.goal_id,
        "deal_id": row.deal_id,
        "action_url": row.action_url,
        "created_at": row.created_at,
        "meta_data": row.meta_data,
    }


async def undelivered(
    session: AsyncSession, user_id: uuid.UUID, limit: int = 100
) -> list[Notification]:
    """The user's notifications not yet acknowledged, oldest first."""
    rows = await session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.status.in_(UNDELIVERED))
        .order_by(Notification.created_at, Notification.id)
        .limit(limit)
    )
    return list(rows)


async def get(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    row = await session.get(Notification, notification_id)
    return row if row is not None and row.user_id == user_id else None


async def mark_sent(session: AsyncSession, ids: list[uuid.UUID]) -> None:
    """Pushed to a connection; stays undelivered until the client acknowledges it."""
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.SENT, sent_at=func.now())
    )


async def acknowledge(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> datetime | None:
    """Mark the user's notification delivered; None when it is not the user's."""
    return await session.scalar(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .values(
            # An ack arriving after the notification was read must not make it unread.
            status=case(
                (Notification.status == NotificationStatus.READ, Notification.status),
                else_=NotificationStatus.DELIVERED,
            ),
            delivered_at=func.coalesce(Notification.delivered_at, func.now()),
        )
        .returning(Notification.delivered_at)
    )


async def page(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    status: NotificationStatus | None = None,
    type: NotificationType | None = None,
    limit: int,
    offset: int,
) -> tuple[list[Notification], int]:
    """The user's notifications, newest first, one page of them and how many in all."""
    query = select(Notification).where(Notification.user_id == user_id)
    if status is not None:
        query = query.where(Notification.status == status)
    if type is not None:
        query = query.where(Notification.type == type)
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    return await paging.page(session, query, limit=limit, offset=offset)


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, ids: Collection[uuid.UUID] | None
) -> list[uuid.UUID]:
    """Mark the user's notifications read: the ones named, or (None) every unread one.

    Returns the ids marked; a named id that is not the user's is not among them, and its
    row is untouched. A named one already read stays as it was read: the first read_at
    (and delivered_at) are kept, so reading again is harmless.
    """
    mine = update(Notification).where(Notification.user_id == user_id)
    if ids is None:
        unread = or_(Notification.status != NotificationStatus.READ, Notification.read_at.is_(None))
        mine = mine.where(unread)
    else:
        mine = mine.where(Notification.id.in_(ids))
    marked = await session.scalars(
        mine.values(
            status=NotificationStatus.READ,
            read_at=func.coalesce(Notification.read_at, func.now()),
            delivered_at=func.coalesce(Notification.delivered_at, func.now()),
        )
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )
    return list(marked)


# A subscriber's queue gets notification ids, or None meaning "look again at everything
# undelivered" (after the listener reconnected and may have missed some).
Inbox = asyncio.Queue[uuid.UUID | None]


class NotificationListener:
    """One LISTEN connection per process, fanning notifications out to the user's inboxes,
    and session changes to the user's watchers (events: check your token again)."""

    def __init__(self, conninfo: str, retry_s: float = 1.0) -> None:
        self._conninfo = conninfo
        self._retry_s = retry_s
        self._inboxes: dict[uuid.UUID, set[Inbox]] = defaultdict(set)
        self._watchers: dict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notification-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self, user_id: uuid.UUID) -> contextlib.AbstractContextManager[Inbox]:
        return registered(self._inboxes, user_id, asyncio.Queue())

    def watch_sessions(
        self, user_id: uuid.UUID, changed: asyncio.Event
    ) -> contextlib.AbstractContextManager[asyncio.Event]:
        """`changed` is set whenever the user's sessions may have changed (a token revoked,
        the account's status): its owner then checks its own token again."""
        return registered(self._watchers, user_id, changed)

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    for channel in (CHANNEL, SESSION_CHANNEL):
                        await conn.execute(f"LISTEN {channel}")
                    if self.listening.is_set():  # a reconnect: some may have been missed
                        self._fan_out(None, None)
                        self._session_changed(None)
                    self.listening.set()
                    async for notice in conn.notifies():
                        self._dispatch(notice.channel, notice.payload)
            except (psycopg.Error, OSError) as error:
                log.warning("notification listener lost its connection: %s", error)
                await asyncio.sleep(self._retry_s)

    def _dispatch(self, channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            if channel == SESSION_CHANNEL:
                self._session_changed(uuid.UUID(data["user_id"]))
            else:
                self._fan_out(uuid.UUID(data["user_id"]), uuid.UUID(data["id"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed %s payload: %r", channel, payload)

    def _session_changed(self, user_id: uuid.UUID | None) -> None:
        """None: anyone's may have (a reconnect may have missed notices)."""
        for watcher in members(self._watchers, user_id):
            watcher.set()

    def _fan_out(self, user_id: uuid.UUID | None, notification_id: uuid.UUID | None) -> None:
        for inbox in members(self._inboxes, user_id):
            inbox.put_nowait(notification_id)


@contextlib.contextmanager
def registered(by_user: dict[uuid.UUID, set[T]], user_id: uuid.UUID, item: T) -> Iterator[T]:
    """`item` among the user's while the block runs."""
    by_user[user_id].add(item)
    try:
        yield item
    finally:
        by_user[user_id].discard(item)
        if not by_user[user_id]:
            del by_user[user_id]


def members(by_user: dict[uuid.UUID, set[T]], user_id: uuid.UUID | None) -> list[T]:
    """The user's items; None: everyone's."""
    if user_id is None:
        return [item for items in by_user.values() for item in items]
    return list(by_user.get(user_id, ()))
