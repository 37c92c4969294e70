"""Logging in, refreshing a login (with rotation and reuse detection), logging out."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth import (
    AuthError,
    check_status,
    check_usable,
    check_user_active,
    find_token,
    issue_token,
    revoke,
)
from core.auth import now as utc_now
from core.config import Settings
from core.models import User
from core.models.enums import TokenScope, TokenStatus, TokenType
from core.passwords import verify_password
from core.throttle import Throttle


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: TokenScope


async def issue_pair(
    session: AsyncSession,
    user_id: uuid.UUID,
    scope: TokenScope,
    settings: Settings,
    family: str | None = None,
) -> TokenPair:
    family = family or uuid.uuid4().hex
    access = await issue_token(
        session, user_id, TokenType.ACCESS, scope, settings.access_token_ttl_s, family
    )
    refresh = await issue_token(
        session, user_id, TokenType.REFRESH, scope, settings.refresh_token_ttl_s, family
    )
    return TokenPair(access, refresh, settings.access_token_ttl_s, scope)


async def login(
    session: AsyncSession,
    settings: Settings,
    throttle: Throttle,
    *,
    email: str,
    password: str,
    client: str,
    scope: TokenScope = TokenScope.FULL,
) -> TokenPair:
    email = email.strip().lower()
    throttle.check(email, client)
    async with session.begin():
        user = await session.scalar(select(User).where(User.email == email))
        if not await verify_password(user.password if user else None, password):
            throttle.record(email, client)
            raise AuthError("wrong email or password", "invalid_credentials")
        assert user is not None  # verify_password never accepts a missing user
        check_status(user.status)
        throttle.forget(email)
        user.last_login_at = utc_now()
        return await issue_pair(session, user.id, scope, settings)


async def refresh_login(session: AsyncSession, settings: Settings, raw_refresh: str) -> TokenPair:
    """Trade a refresh token for a new pair; the old one is revoked.

    Presenting an already revoked refresh token means it was copied: the whole family
    is revoked (committed), so the thief's and the owner's tokens alike stop working.
    """
    async with session.begin():
        row = await find_token(session, raw_refresh, TokenType.REFRESH, for_update=True)
        if row is not None and row.status == TokenStatus.REVOKED:
            await revoke(session, row.user_id, family=row.meta_data.get("family", ""))
            refusal = AuthError(
                "refresh token was already used; this login is now revoked", "token_reused"
            )
        elif row is not None and row.status == TokenStatus.ACTIVE and row.expires_at <= utc_now():
            row.status = TokenStatus.EXPIRED  # kept, so the table tells what happened
            refusal = AuthError("refresh token has expired", "token_expired")
        else:
            row = check_usable(row, "refresh token")
            await check_user_active(session, row.user_id)
            row.status = TokenStatus.REVOKED
            family = row.meta_data.get("family")
            return await issue_pair(session, row.user_id, row.scope, settings, family)
    raise refusal


async def logout(session: AsyncSession, raw_access: str) -> None:
    """Revoke the access token's whole login: itself and its refresh token."""
    async with session.begin():
        row = check_usable(await find_token(session, raw_access, TokenType.ACCESS), "access token")
        await revoke(session, row.user_id, family=row.meta_data.get("family", ""))
