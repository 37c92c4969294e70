"""The one error shape of the REST API, RFC 9457 Problem Details, and the catalogue of its
codes: what status each answers with and its title. docs/errors.md lists them for people;
routes declare theirs in the OpenAPI document through `responses`."""

import json
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://dealagent.dev/problems/"  # + code: an identifier, not a page to fetch


class Problem(BaseModel):
    type: str = Field(description="URI naming the problem: " + TYPE_BASE + "<code>")
    title: str = Field(description="The problem's short summary; the same for every occurrence")
    status: int = Field(ge=400, le=599, description="The HTTP status code")
    detail: str = Field(description="What went wrong this time, for a person")
    code: str = Field(description="The machine-readable code (docs/errors.md)")


class FieldError(BaseModel):
    field: str = Field(
        description="Where: 'body.password', 'query.limit'; 'body' for the whole body"
    )
    message: str = Field(description="What is wrong with it, for a person")
    type: str = Field(description="The kind of problem: 'missing', 'string_too_short', …")


class ValidationProblem(Problem):
    errors: list[FieldError] = Field(
        default_factory=list,
        description="Each refused field, when the request's shape or values were refused "
        "(absent for the rules of code weak_password, invalid_sol_address, …)",
    )


# code -> (status, title). Codes are stable; titles may be reworded.
CATALOGUE: dict[str, tuple[int, str]] = {
    "invalid_reset_token": (400, "The reset link is invalid or used up"),
    "missing_token": (401, "No access token"),
    "invalid_token": (401, "The token is not valid"),
    "token_expired": (401, "The token has expired"),
    "token_revoked": (401, "The token has been revoked"),
    "token_reused": (401, "A used refresh token was presented again"),
    "account_disabled": (401, "The account is not active"),
    "invalid_credentials": (401, "Wrong email or password"),
    "insufficient_balance": (402, "Not enough tokens"),
    "goal_token_limit": (402, "The goal's token limit is reached"),
    "insufficient_scope": (403, "The token's scope does not allow this"),
    "not_found": (404, "No such resource"),
    "goal_not_found": (404, "No such goal of yours"),
    "deal_not_found": (404, "No such deal of yours"),
    "notification_not_found": (404, "No such notification of yours"),
    "method_not_allowed": (405, "Method not allowed"),
    "http_error": (400, "The request was refused"),  # any other HTTP error, with its own status
    "request_timeout": (408, "The request did not arrive in time"),
    "email_taken": (409, "The email is taken"),
    "sol_address_taken": (409, "The Solana address is taken"),
    "invalid_transition": (409, "The goal's status does not allow this"),
    "goal_cancelled": (409, "The goal is cancelled"),
    "payload_too_large": (413, "The request body is too large"),
    "invalid_request": (422, "The request is invalid"),
    "invalid_content": (422, "Text holds NUL"),
    "json_too_deep": (422, "The JSON body nests too deep"),
    "invalid_goal": (422, "The goal cannot take this value"),
    "weak_password": (422, "The password is too weak"),
    "invalid_sol_address": (422, "Not a Solana address"),
    "invalid_notification_channel": (422, "Unknown notification channel"),
    "invalid_webhook_url": (422, "The webhook URL cannot be used"),
    "invalid_webhook_secret": (422, "The webhook secret cannot be used"),
    "webhook_url_required": (422, "The webhook channel needs a webhook URL"),
    "unknown_referral_code": (422, "Unknown referral code"),
    "too_many_attempts": (429, "Too many attempts"),
    "internal_error": (500, "Internal error"),
    "server_busy": (503, "The server is at its connection limit"),
    "pricing_not_configured": (503, "A price is missing"),
}
VALIDATION_CODES = ("invalid_request", "invalid_content", "json_too_deep")


def status_of(code: str) -> int:
    return CATALOGUE[code][0]


def body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    title = CATALOGUE[code][1] if code in CATALOGUE else HTTPStatus(status).phrase
    problem = {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail}
    return {**problem, "code": code, **extra}


VALIDATION_EXAMPLE = body(
    422,
    "invalid_request",
    "limit: Input should be less than or equal to 100",
    errors=[
        {
            "field": "query.limit",
            "message": "Input should be less than or equal to 100",
            "type": "less_than_equal",
        }
    ],
)


def encoded(status: int, code: str, detail: str) -> bytes:
    """The body as bytes, for answers written below the app (body limit, connection guard)."""
    return json.dumps(body(status, code, detail), separators=(",", ":")).encode()


# Every /api/v1 route can answer these: a body over MAX_REQUEST_BYTES, an invalid or
# NUL-holding query or body, a fault, a process at MAX_CONNECTIONS.
ALWAYS = ("payload_too_large", *VALIDATION_CODES, "internal_error", "server_busy")
# The same, for a route that takes no parameter nor body (no invalid_request then), nor
# answers 503 server_busy (/healthz is served past MAX_CONNECTIONS).
WITHOUT_PARAMETERS = ("payload_too_large", "invalid_content", "json_too_deep", "internal_error")
AUTHENTICATED = (
    "missing_token",
    "invalid_token",
    "token_expired",
    "token_revoked",
    "account_disabled",
)


def responses(*codes: str, always: tuple[str, ...] = ALWAYS) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route: each status its codes (and `always`) answer with,
    as Problem Details, the codes listed in its description."""
    by_status: dict[int, list[str]] = {}
    for code in (*codes, *always):
        by_status.setdefault(status_of(code), []).append(code)
    declared: dict[int | str, dict[str, Any]] = {}
    for status, listed in sorted(by_status.items()):
        model = "ValidationProblem" if status == 422 else "Problem"
        example = VALIDATION_EXAMPLE if status == 422 else body(status, listed[0], "…")
        declared[status] = {
            "description": f"{HTTPStatus(status).phrase}: code " + ", ".join(listed),
            "content": {
                MEDIA_TYPE: {
                    "schema": {"$ref": f"#/components/schemas/{model}"},
                    "example": example,
                }
            },
        }
    return declared


ANY_SCOPE = ("full", "limited", "read")
CHAT_SCOPES = ("full", "limited")  # the scopes that may spend tokens (core.auth.can_spend)
ACCOUNT_SCOPES = ("full",)  # core.auth.can_change_account


def declared(*codes: str, scopes: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A route's keyword arguments for its OpenAPI entry: the problems it answers with and,
    given `scopes`, the bearer token it needs (with the 401s of a refused one)."""
    if scopes is None:
        return {"responses": responses(*codes), "openapi_extra": {"security": []}}
    if set(scopes) != set(ANY_SCOPE):
        codes = (*codes, "insufficient_scope")
    return {
        "responses": responses(*AUTHENTICATED, *codes),
        "openapi_extra": {"security": [{"bearer": list(scopes)}]},
    }
