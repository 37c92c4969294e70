"""Auth tokens: signed random strings, kept in auth_tokens only as their SHA-256 hash.

A raw token is `<random>.<HMAC of it under the signing secret>`. The signature turns away
made-up tokens before any database work, and changing the secret logs everyone out. The
database row is the authority: its status, expiry and the user's status are checked on
every use, so a revoked token or a suspended user stops working at once.

Tokens of one login share a `family` (auth_tokens.meta_data): a refresh hands out a new
pair in the same family, and logout or a reused refresh token revokes all of it.

Long-lived connections hear when to check again: a trigger (migration 0006) sends NOTIFY
on SESSION_CHANNEL, with the user's id, when one of their access tokens stops being active
or their status changes, whoever changed the row.
"""

import base64
import hashlib
import hmac
import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.models import AuthToken, User
from core.models.enums import TokenScope, TokenStatus, TokenType, UserStatus

log = logging.getLogger(__name__)
SECRET_FILE = "auth_secret"
SESSION_CHANNEL = "dealagent_sessions"  # migration 0006's triggers notify here
MAX_TOKEN_CHARS = 4096  # ours are ~90; longer ones are refused before any hashing


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    scope: TokenScope
    expires_at: datetime  # the access token's


class AuthError(Exception):
    """The caller is not (or no longer) authenticated; `code` names why."""

    def __init__(self, message: str, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.code = code


class ScopeDenied(Exception):
    """Authenticated, but the token's scope does not allow this."""


def can_spend(scope: TokenScope) -> bool:
    return scope in (TokenScope.FULL, TokenScope.LIMITED)


def can_change_account(scope: TokenScope) -> bool:
    return scope == TokenScope.FULL


def require(allowed: bool, action: str) -> None:
    if not allowed:
        raise ScopeDenied(f"this token's scope does not allow {action}")


# The process's signing secret; set once at start-up by configure().
_secret: str | None = None


def configure(settings: Settings) -> None:
    global _secret
    _secret = signing_secret(settings)


def signing_secret(settings: Settings) -> str:
    """Settings' secret, else the one kept under DEALAGENT_HOME, made on first use."""
    if settings.auth_secret:
        return settings.auth_secret
    path = settings.home / SECRET_FILE
    if not path.exists():
        write_once(path, secrets.token_urlsafe(48))
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(
            f"{path} is empty: delete it (everyone is logged out) or set AUTH_SECRET"
        )
    return secret


def write_once(path: Path, text: str) -> None:
    """Write `path` unless it exists, atomically: readers see no file or the whole text.

    Of several processes starting at once exactly one wins: each writes and fsyncs a
    temporary file of its own (exclusive create), then hard-links it to `path`, which
    fails, leaving the winner's file alone, when `path` exists (a rename would replace it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return  # another process won; its file is complete
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:  # the new name itself survives a crash
        os.fsync(directory)
    finally:
        os.close(directory)
    log.info("generated a new auth signing secret in %s", path)


def current_secret() -> str:
    if _secret is None:
        raise RuntimeError("core.auth.configure(settings) was not called at start-up")
    return _secret


def sign(body: str) -> str:
    digest = hmac.new(current_secret().encode(), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


async def issue_token(
    session: AsyncSession,
    user_id: uuid.UUID,
    kind: TokenType,
    scope: TokenScope,
    ttl_s: int,
    family: str | None = None,
) -> str:
    """Store a new token's hash and return the raw token, which is shown once."""
    body = secrets.token_urlsafe(32)
    raw = f"{body}.{sign(body)}"
    session.add(
        AuthToken(
            user_id=user_id,
            token=token_hash(raw),
            token_type=kind,
            scope=scope,
            expires_at=now() + timedelta(seconds=ttl_s),
            meta_data={"family": family} if family else {},
        )
    )
    await session.flush()
    return raw


def signed_hash(raw: str) -> str | None:
    """The stored form of a correctly signed token; None for a made-up one."""
    if len(raw) > MAX_TOKEN_CHARS:
        return None
    body, _, signature = raw.rpartition(".")
    if not body or not hmac.compare_digest(signature, sign(body)):
        return None
    return token_hash(raw)


async def find_token(
    session: AsyncSession, raw: str, kind: TokenType, *, for_update: bool = False
) -> AuthToken | None:
    """The row of a correctly signed token of this type, whatever its status."""
    if (digest := signed_hash(raw)) is None:
        return None
    query = select(AuthToken).where(AuthToken.token == digest, AuthToken.token_type == kind)
    return await session.scalar(query.with_for_update() if for_update else query)


def check_usable(row: AuthToken | None, what: str) -> AuthToken:
    if row is None:
        raise AuthError(f"invalid {what}")
    if row.status == TokenStatus.REVOKED:
        raise AuthError(f"{what} has been revoked", "token_revoked")
    if row.status == TokenStatus.EXPIRED or row.expires_at <= now():
        raise AuthError(f"{what} has expired", "token_expired")
    return row


def check_status(status: UserStatus | None) -> None:
    if status != UserStatus.ACTIVE:
        raise AuthError(f"this account is {status or UserStatus.DELETED}", "account_disabled")


async def check_user_active(session: AsyncSession, user_id: uuid.UUID) -> None:
    check_status(await session.scalar(select(User.status).where(User.id == user_id)))


async def authenticate(session: AsyncSession, raw_access_token: str) -> Principal:
    """Who holds this access token, in one query: the token's row and its user's status."""
    found = None
    if digest := signed_hash(raw_access_token):
        query = (
            select(AuthToken, User.status)
            .join(User, User.id == AuthToken.user_id)
            .where(AuthToken.token == digest, AuthToken.token_type == TokenType.ACCESS)
        )
        found = (await session.execute(query)).one_or_none()
    row = check_usable(found[0] if found else None, "access token")
    check_status(found[1] if found else None)
    return Principal(row.user_id, row.scope, row.expires_at)


async def revoke(session: AsyncSession, user_id: uuid.UUID, *, family: str | None = None) -> None:
    """Revoke the user's live tokens: one family's, or with none given all of them."""
    query = update(AuthToken).where(
        AuthToken.user_id == user_id, AuthToken.status == TokenStatus.ACTIVE
    )
    if family is not None:
        query = query.where(AuthToken.meta_data["family"].astext == family)
    await session.execute(
        query.values(status=TokenStatus.REVOKED).execution_options(synchronize_session=False)
    )
