"""Dependencies shared by the routers, declared once."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.auth import (
    AuthError,
    Principal,
    authenticate,
    can_change_account,
    can_spend,
    require,
)
from core.config import Settings
from core.mailer import Mailer
from core.models import User
from core.throttle import Throttle


def get_engine(request: Request) -> AsyncEngine:
    return request.app.state.engine


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    """The factory itself, for writes run through core.db.in_transaction (retried on a
    deadlock or serialization failure)."""
    return request.app.state.sessions


EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_mailer(request: Request) -> Mailer:
    return request.app.state.mailer


def get_login_throttle(request: Request) -> Throttle:
    return request.app.state.login_throttle


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_reset_throttle(request: Request) -> Throttle:
    return request.app.state.reset_throttle


def get_register_throttle(request: Request) -> Throttle:
    return request.app.state.register_throttle


SettingsDep = Annotated[Settings, Depends(get_settings)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]
ThrottleDep = Annotated[Throttle, Depends(get_login_throttle)]
ResetThrottleDep = Annotated[Throttle, Depends(get_reset_throttle)]
RegisterThrottleDep = Annotated[Throttle, Depends(get_register_throttle)]


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("send an access token: Authorization: Bearer <token>", "missing_token")
    return token.strip()


BearerToken = Annotated[str, Depends(bearer_token)]


async def get_principal(request: Request, token: BearerToken) -> Principal:
    # Its own short session: the route's session stays free for one unit of work.
    async with request.app.state.sessions() as session:
        return await authenticate(session, token)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def account_principal(principal: CurrentPrincipal) -> Principal:
    require(can_change_account(principal.scope), "changing account settings")
    return principal


AccountPrincipal = Annotated[Principal, Depends(account_principal)]


def acting_principal(principal: CurrentPrincipal) -> Principal:
    # The scopes that may chat (and so change goals through the agent) may change them here.
    require(can_spend(principal.scope), "changing goals")
    return principal


ActingPrincipal = Annotated[Principal, Depends(acting_principal)]


async def get_current_user(session: SessionDep, principal: CurrentPrincipal) -> User:
    return await session.get_one(User, principal.user_id)


CurrentUser = Annotated[User, Depends(get_current_user)]
