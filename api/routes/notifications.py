"""The signed-in user's notifications: list them, mark one or all of them read."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import CurrentPrincipal, SessionDep, SessionsDep
from api.errors import error
from api.paging import Page, PageQuery
from api.problems import ANY_SCOPE, declared
from core import notifications
from core.db import in_transaction
from core.models.enums import NotificationPriority, NotificationStatus, NotificationType
from core.models.notifications import Notification

router = APIRouter(prefix="/notifications", tags=["notifications"])


class NotificationQuery(PageQuery):
    status: NotificationStatus | None = None
    type: NotificationType | None = None


class NotificationOut(BaseModel):
    id: uuid.UUID
    type: NotificationType
    priority: NotificationPriority
    status: NotificationStatus
    title: str
    message: str
    goal_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    action_url: str | None
    meta_data: dict[str, Any]
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None


class MarkedRead(BaseModel):
    marked_read: int


def out(row: Notification) -> NotificationOut:
    return NotificationOut.model_validate(row, from_attributes=True)


@router.get("", **declared(scopes=ANY_SCOPE))
async def list_notifications(
    session: SessionDep, principal: CurrentPrincipal, query: Annotated[NotificationQuery, Query()]
) -> Page[NotificationOut]:
    rows, total = await notifications.page(
        session,
        principal.user_id,
        status=query.status,
        type=query.type,
        limit=query.limit,
        offset=query.offset,
    )
    return Page(items=[out(r) for r in rows], total=total, limit=query.limit, offset=query.offset)


@router.post("/read-all", **declared(scopes=ANY_SCOPE))
async def read_all(sessions: SessionsDep, principal: CurrentPrincipal) -> MarkedRead:
    async def work(session: AsyncSession) -> list[uuid.UUID]:
        return await notifications.mark_read(session, principal.user_id, None)

    return MarkedRead(marked_read=len(await in_transaction(sessions, work)))


@router.post(
    "/{notification_id}/read",
    response_model=NotificationOut,
    **declared("notification_not_found", scopes=ANY_SCOPE),
)
async def read_one(
    notification_id: uuid.UUID, sessions: SessionsDep, principal: CurrentPrincipal
) -> NotificationOut | JSONResponse:
    async def work(session: AsyncSession) -> Notification | None:
        if not await notifications.mark_read(session, principal.user_id, [notification_id]):
            return None
        return await notifications.get(session, principal.user_id, notification_id)

    row = await in_transaction(sessions, work)
    if row is None:
        return error(404, "notification_not_found", f"no notification {notification_id} of yours")
    return out(row)
