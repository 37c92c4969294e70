"""GET /me (profile, balance, stats) and PATCH /me (the fields a user may change)."""

import json
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.decimals import PlainDecimal
from api.deps import AccountPrincipal, CurrentUser, SessionDep, SettingsDep
from api.problems import ACCOUNT_SCOPES, ANY_SCOPE, declared
from core import accounts
from core.accounts import NOTIFICATION_CHANNELS
from core.config import Settings
from core.models import User
from core.wallet import ADDRESS_PATTERN
from markets import webhook

router = APIRouter(tags=["account"])
MAX_PREFERENCES_BYTES = 16_384


class Stats(BaseModel):
    active_goals_count: int
    total_deals_found: int
    success_rate: PlainDecimal
    total_tokens_spent: PlainDecimal
    total_rewards_earned: PlainDecimal


class Profile(BaseModel):
    id: uuid.UUID
    email: str
    name: str | None
    status: str
    email_verified: bool
    sol_address: str | None
    referral_code: str | None
    token_balance: PlainDecimal
    preferences: dict[str, Any]
    notification_channels: list[str]
    created_at: datetime
    last_login_at: datetime | None
    stats: Stats

    @classmethod
    def of(cls, user: User) -> "Profile":
        fields = {name: getattr(user, name) for name in cls.model_fields if name != "stats"}
        stats = {name: getattr(user, name) for name in Stats.model_fields}
        return cls(**fields, stats=Stats(**stats))


class ProfileChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    preferences: dict[str, Any] = Field(default_factory=dict)
    notification_channels: list[str] = Field(
        default_factory=list,
        max_length=10,
        json_schema_extra={"items": {"type": "string", "enum": list(NOTIFICATION_CHANNELS)}},
        description="'webhook' needs preferences.webhook_url (else 422 webhook_url_required).",
    )
    sol_address: str | None = Field(
        default=None,
        json_schema_extra={"pattern": ADDRESS_PATTERN},
        description="A Solana address: base58 of a 32-byte key (else 422 invalid_sol_address).",
    )

    @field_validator("preferences")
    @classmethod
    def small_enough(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > MAX_PREFERENCES_BYTES:
            raise ValueError(f"preferences must stay under {MAX_PREFERENCES_BYTES} bytes of JSON")
        return value


@router.get("/me", **declared(scopes=ANY_SCOPE))
async def read_me(user: CurrentUser) -> Profile:
    return Profile.of(user)


async def check_webhook_url(url: str, settings: Settings) -> None:
    """Before any transaction: the check resolves the URL's host."""
    try:
        await webhook.check_url(
            url,
            allow_private=settings.webhook_private_hosts,
            timeout_s=settings.webhook_timeout_s,
        )
    except webhook.WebhookFailed as failed:
        message = f"preferences.webhook_url: {failed}"
        raise accounts.AccountError("invalid_webhook_url", message) from None


@router.patch(
    "/me",
    **declared(
        "invalid_sol_address",
        "sol_address_taken",
        "invalid_notification_channel",
        "invalid_webhook_url",
        "invalid_webhook_secret",
        "webhook_url_required",
        scopes=ACCOUNT_SCOPES,
    ),
)
async def change_me(
    changes: ProfileChanges, principal: AccountPrincipal, session: SessionDep, settings: SettingsDep
) -> Profile:
    fields = changes.model_dump(exclude_unset=True)
    if isinstance(url := fields.get("preferences", {}).get("webhook_url"), str):
        await check_webhook_url(url, settings)
    user = await accounts.update_profile(session, principal.user_id, fields)
    return Profile.of(user)
