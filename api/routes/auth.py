"""Sign-up, login, token refresh, logout and password resets under /auth."""

from typing import Annotated

import email_validator
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool

from api.deps import (
    BearerToken,
    MailerDep,
    RegisterThrottleDep,
    ResetThrottleDep,
    SessionDep,
    SettingsDep,
    ThrottleDep,
    client_address,
)
from api.problems import ANY_SCOPE, declared
from api.refresh_cookie import forget_refresh, keep_refresh, refresh_from
from api.routes.me import Profile
from core import accounts
from core.login import TokenPair, login, logout, refresh_login
from core.models.enums import TokenScope
from core.passwords import MAX_LENGTH

router = APIRouter(prefix="/auth", tags=["auth"])
Password = Field(min_length=1, max_length=1024)
# Its minLength in the OpenAPI document is PASSWORD_MIN_LENGTH (api.openapi).
NewPassword = Field(
    max_length=MAX_LENGTH,
    description="At least PASSWORD_MIN_LENGTH characters, at least 4 different ones, not only "
    "letters nor only digits (else 422 weak_password).",
    examples=["a long passphrase 1"],
)
RawToken = Field(min_length=1, max_length=512)


def ignoring_case(word: str) -> str:
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in word)


# EmailStr also refuses the special-use domains (".test", ".local", …): the schema says so.
SPECIAL_USE = "|".join(ignoring_case(d) for d in email_validator.SPECIAL_USE_DOMAIN_NAMES)
Email = Annotated[EmailStr, Field(json_schema_extra={"pattern": f"^(?!.*\\.({SPECIAL_USE})$)"})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Registration(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "me@example.com", "password": "a long passphrase 1"}]
        },
    )

    email: Email
    password: str = NewPassword
    name: str | None = Field(default=None, min_length=1, max_length=255)
    referral_code: str | None = Field(default=None, max_length=10)


class Credentials(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "me@example.com", "password": "a long passphrase 1", "scope": "full"}
            ]
        },
    )

    email: Email
    password: str = Password
    scope: TokenScope = Field(
        default=TokenScope.FULL,
        description="full: everything; limited: chat and read, no account changes; read: read only",
    )
    refresh_cookie: StrictBool = Field(
        default=False,
        description="For browsers: the refresh token goes into an HttpOnly, SameSite=Strict "
        "cookie for /api/v1/auth instead of the body (refresh_token is then null).",
    )


class RefreshRequest(Strict):
    refresh_token: str = RawToken


class ResetRequest(Strict):
    email: Email


class ResetConfirmation(Strict):
    token: str = RawToken
    new_password: str = NewPassword


class Tokens(BaseModel):
    access_token: str
    refresh_token: str | None = Field(description="null when it was set as a cookie")
    token_type: str = "bearer"
    expires_in: int
    scope: TokenScope

    @classmethod
    def of(cls, pair: TokenPair, *, in_cookie: bool = False) -> "Tokens":
        return cls(
            access_token=pair.access_token,
            refresh_token=None if in_cookie else pair.refresh_token,
            expires_in=pair.expires_in,
            scope=pair.scope,
        )


class Notice(BaseModel):
    detail: str


@router.post(
    "/register",
    status_code=201,
    **declared("email_taken", "weak_password", "unknown_referral_code", "too_many_attempts"),
)
async def register(
    body: Registration,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    throttle: RegisterThrottleDep,
) -> Profile:
    # Every attempt counts, taken or not: sign-ups are what a referral farmer repeats.
    throttle.attempt(body.email.strip().lower(), client_address(request))
    user = await accounts.register(
        session,
        settings,
        email=body.email,
        password=body.password,
        name=body.name,
        referral_code=body.referral_code,
    )
    return Profile.of(user)


@router.post("/login", **declared("invalid_credentials", "account_disabled", "too_many_attempts"))
async def log_in(
    body: Credentials,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
) -> Tokens:
    client = client_address(request)
    pair = await login(
        session,
        settings,
        throttle,
        email=body.email,
        password=body.password,
        client=client,
        scope=body.scope,
    )
    if body.refresh_cookie:
        keep_refresh(request, response, pair, settings)
    return Tokens.of(pair, in_cookie=body.refresh_cookie)


@router.post(
    "/refresh",
    **declared(
        "invalid_token", "token_expired", "token_revoked", "token_reused", "account_disabled"
    ),
)
async def refresh(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    body: RefreshRequest | None = None,
) -> Tokens:
    """With a body, the refresh token in it; without one, the browser's refresh cookie
    (rotated: the answer sets the new one)."""
    if body is not None:
        return Tokens.of(await refresh_login(session, settings, body.refresh_token))
    pair = await refresh_login(session, settings, refresh_from(request))
    keep_refresh(request, response, pair, settings)
    return Tokens.of(pair, in_cookie=True)


@router.post("/logout", status_code=204, **declared(scopes=ANY_SCOPE))
async def log_out(token: BearerToken, response: Response, session: SessionDep) -> None:
    forget_refresh(response)
    await logout(session, token)


@router.post("/password-reset/request", status_code=202, **declared("too_many_attempts"))
async def request_reset(
    body: ResetRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
    throttle: ResetThrottleDep,
) -> Notice:
    # Counted for every email alike, known or not: a 429 says nothing of who has an account.
    throttle.attempt(body.email.strip().lower(), client_address(request))
    await accounts.request_password_reset(session, settings, mailer, body.email)
    return Notice(detail="if an account has this email, a reset link is on its way")


@router.post("/password-reset/confirm", **declared("invalid_reset_token", "weak_password"))
async def confirm_reset(
    body: ResetConfirmation, session: SessionDep, settings: SettingsDep
) -> Notice:
    await accounts.confirm_password_reset(session, settings, body.token, body.new_password)
    return Notice(detail="password changed; every session was logged out, log in again")
