"""Accounts: sign-up (the grant; referrals are paid later, core.referrals), the profile,
password resets."""

import logging
import secrets
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.auth import find_token, issue_token, revoke
from core.auth import now as utc_now
from core.config import Settings
from core.mailer import Mailer, MailError
from core.models import User
from core.models.enums import TokenScope, TokenStatus, TokenType, UserStatus
from core.passwords import hash_password, password_problem
from core.wallet import sol_address_problem

log = logging.getLogger(__name__)
REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes
REFERRAL_LENGTH = 8
NOTIFICATION_CHANNELS = ("in_app", "email", "webhook")
MAX_WEBHOOK_SECRET_CHARS = 256
PROFILE_FIELDS = ("name", "preferences", "notification_channels", "sol_address")


class AccountError(Exception):
    """A request about an account that cannot be done; `code` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_password(password: str, settings: Settings) -> None:
    if problem := password_problem(password, settings.password_min_length):
        raise AccountError("weak_password", problem)


async def register(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    name: str | None = None,
    referral_code: str | None = None,
) -> User:
    """A new active user holding the sign-up grant, referred by the owner of the referral
    code (paid at the new user's first completed turn: core.referrals)."""
    email = email.strip().lower()
    check_password(password, settings)
    hashed = await hash_password(password)
    try:
        async with session.begin():
            if await session.scalar(select(exists().where(User.email == email))):
                raise AccountError("email_taken", "an account with this email already exists")
            referrer = await find_referrer(session, referral_code) if referral_code else None
            user = User(
                email=email,
                name=name,
                password=hashed,
                referral_code=await new_referral_code(session),
                referred_by=referrer.id if referrer else None,
            )
            session.add(user)
            await session.flush()
            if settings.signup_grant > 0:
                await ledger.reward(
                    session, user.id, settings.signup_grant, description="sign-up grant"
                )
    except IntegrityError as error:  # a concurrent sign-up with the same email won
        if "uq_user_email" in str(error.orig):
            raise AccountError("email_taken", "an account with this email already exists") from None
        raise
    await session.refresh(user)
    return user


async def find_referrer(session: AsyncSession, code: str) -> User:
    referrer = await session.scalar(
        select(User).where(
            User.referral_code == code.strip().upper(), User.status == UserStatus.ACTIVE
        )
    )
    if referrer is None:
        raise AccountError("unknown_referral_code", f"no active user has referral code {code!r}")
    return referrer


async def new_referral_code(session: AsyncSession) -> str:
    while True:
        code = "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_LENGTH))
        if not await session.scalar(select(exists().where(User.referral_code == code))):
            return code


async def update_profile(
    session: AsyncSession, user_id: uuid.UUID, changes: dict[str, Any]
) -> User:
    """Apply the given profile fields (already shape-checked by the caller)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise AccountError("invalid_field", f"cannot change {', '.join(sorted(unknown))}")
    address = changes.get("sol_address")
    if address is not None and (problem := sol_address_problem(address)):
        raise AccountError("invalid_sol_address", problem)
    channels = changes.get("notification_channels") or []
    if bad := [c for c in channels if c not in NOTIFICATION_CHANNELS]:
        raise AccountError(
            "invalid_notification_channel",
            f"unknown channel(s) {', '.join(bad)}; choose from {', '.join(NOTIFICATION_CHANNELS)}",
        )
    if "preferences" in changes:
        check_webhook_fields(changes["preferences"])
    wallet_taken = AccountError("sol_address_taken", "this Solana address belongs to another user")
    try:
        async with session.begin():
            if address is not None and await session.scalar(
                select(exists().where(User.sol_address == address, User.id != user_id))
            ):
                raise wallet_taken
            # Locked: the saved webhook fields are read, and a concurrent change may write them.
            user = await session.get_one(User, user_id, with_for_update=True)
            for field, value in with_webhook(changes, user).items():
                setattr(user, field, value)
    except IntegrityError as error:  # a concurrent update claimed the address first
        if "uq_user_wallet" in str(error.orig):
            raise wallet_taken from None
        raise
    await session.refresh(user)
    return user


def check_webhook_fields(preferences: dict[str, Any]) -> None:
    """The webhook's fields in the preferences have the right types. Whether the URL can be
    reached (https, a public address) is checked before, outside any transaction."""
    if not isinstance(preferences.get("webhook_url", ""), str):
        raise AccountError("invalid_webhook_url", "preferences.webhook_url: must be a string")
    secret = preferences.get("webhook_secret", "kept or generated")
    if not isinstance(secret, str) or not 0 < len(secret) <= MAX_WEBHOOK_SECRET_CHARS:
        raise AccountError(
            "invalid_webhook_secret",
            f"preferences.webhook_secret: must be 1 to {MAX_WEBHOOK_SECRET_CHARS} characters",
        )


def with_webhook(changes: dict[str, Any], user: User) -> dict[str, Any]:
    """`changes` as they are saved: a webhook_url with its secret, and the webhook channel
    only while there is a webhook_url."""
    if "preferences" in changes:
        preferences = with_webhook_secret(changes["preferences"], user.preferences)
        changes = {**changes, "preferences": preferences}
    saved = {
        "preferences": user.preferences,
        "notification_channels": user.notification_channels,
        **changes,
    }
    if "webhook" in saved["notification_channels"] and not saved["preferences"].get("webhook_url"):
        raise AccountError(
            "webhook_url_required", "notification_channels: webhook needs preferences.webhook_url"
        )
    return changes


def with_webhook_secret(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """`new` preferences where a webhook_url always comes with a secret: the one given, else
    the one already saved (a receiver checking it keeps working), else a new one."""
    if not new.get("webhook_url") or new.get("webhook_secret"):
        return new
    return {**new, "webhook_secret": old.get("webhook_secret") or secrets.token_urlsafe(32)}


async def request_password_reset(
    session: AsyncSession, settings: Settings, mailer: Mailer, email: str
) -> None:
    """Mail a single-use reset token to an active user; unknown emails get nothing."""
    email = email.strip().lower()
    async with session.begin():
        user = await session.scalar(
            select(User).where(User.email == email, User.status == UserStatus.ACTIVE)
        )
        if user is None:
            return
        raw = await issue_token(
            session, user.id, TokenType.RESET, TokenScope.FULL, settings.reset_token_ttl_s
        )
    link = (
        f"{settings.password_reset_url}?{urlencode({'token': raw})}"
        if settings.password_reset_url
        else f"Your reset token: {raw}"
    )
    minutes = settings.reset_token_ttl_s // 60
    try:
        await mailer.send(
            email,
            "Reset your dealagent password",
            f"Someone asked to reset the password of this account.\n\n{link}\n\n"
            f"It works once, within {minutes} minutes. If it was not you, ignore this mail.",
        )
    except MailError as error:  # the answer must not differ from an unknown email's
        log.error("password-reset mail to %s not sent: %s", email, error)


async def confirm_password_reset(
    session: AsyncSession, settings: Settings, raw_token: str, new_password: str
) -> None:
    """Set the new password, use up the token and log out every session of the user."""
    check_password(new_password, settings)
    hashed = await hash_password(new_password)
    async with session.begin():
        row = await find_token(session, raw_token, TokenType.RESET, for_update=True)
        if row is None or row.status != TokenStatus.ACTIVE or row.expires_at <= utc_now():
            raise AccountError("invalid_reset_token", "this reset link is invalid or used up")
        user = await session.get_one(User, row.user_id)
        if user.status != UserStatus.ACTIVE:
            raise AccountError("invalid_reset_token", "this reset link is invalid or used up")
        user.password = hashed
        await revoke(session, user.id)


async def grant(session: AsyncSession, email: str, amount: Decimal, reason: str) -> User:
    """An operator's gift of tokens, booked as a reward; returns the user, balance updated."""
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountError("unknown_user", f"no user with email {email!r}")
    if amount <= 0:
        raise AccountError("invalid_amount", "the amount to grant must be more than 0")
    await ledger.reward(session, user.id, amount, description=reason, meta={"by": "operator"})
    await session.refresh(user)
    return user
